"""Exact dedup, near-dedup (MinHash-LSH verified by true Jaccard), decontamination and the
diversity filter on the hashing embedder: exact reasons, dup_of and similarity values."""

import math

import pytest
from factories import make_env, make_example

from seedfactory.schemas import SeedExample
from seedfactory.validators import (
    HashEmbedder,
    decontaminate,
    diversity_filter,
    exact_dedup,
    near_dedup,
)
from seedfactory.validators.dedup import near_duplicate_clusters
from seedfactory.validators.lsh import ShingleIndex
from seedfactory.validators.similarity import jaccard, shingles

# 23 word 3-shingles each. One word changed touches 3 of them: 20 shared / 26 in the union.
BASE = ("Write a short friendly email to a customer explaining that their order of blue ceramic "
        "mugs will arrive two days late because of a storm.")
REWORDED = BASE.replace("a customer", "a client")
# Two words changed: 18 / 28 = 0.64, under the 0.7 threshold, yet LSH proposes the pair.
FALSE_POSITIVE = REWORDED.replace("explaining that", "explaining why")
DISTINCT = "List three rivers in Germany and the cities they pass through."


def example(id, instruction, prompt_id=None, output=None, input=""):
    return make_example(id, instruction, input=input, output=output, prompt_id=prompt_id)


def make_ctx(tmp_path, *overrides):
    """A validator env; overrides are `key=value` strings of the validate section."""
    return make_env(**{k: float(v) for k, v in (o.removeprefix("validate.").split("=") for o in overrides)})


def rejects(ctx):
    return {r.row_id: (r.reason, r.dup_of, r.similarity) for r in ctx.reject.records}


def test_exact_dedup_ignores_case_and_spacing_keeps_first(tmp_path):
    ctx = make_ctx(tmp_path)
    rows = [
        example("a", "Name a colour.", output="Teal."),
        example("b", "name a   COLOUR.", output=" teal. "),
        example("c", "Name a colour.", output="Crimson."),
        example("d", "Name a colour.", input="in French", output="Teal."),
    ]
    assert [r.id for r in exact_dedup(rows, ctx)] == ["a", "c", "d"]
    assert rejects(ctx) == {"b": ("exact_duplicate", "a", 1.0)}


def test_reworded_prompt_is_dropped_naming_the_kept_one(tmp_path):
    ctx = make_ctx(tmp_path)
    rows = [example("r1", BASE), example("r2", DISTINCT), example("r3", REWORDED)]
    assert [r.id for r in near_dedup(rows, ctx)] == ["r1", "r2"]
    assert rejects(ctx) == {"r3": ("near_duplicate", "r1", 20 / 26)}


def test_bigger_group_wins_the_cluster_and_takes_its_rows_along(tmp_path):
    ctx = make_ctx(tmp_path)
    rows = [
        example("a1", BASE, prompt_id="A"),
        example("b1", REWORDED, prompt_id="B"),
        example("b2", REWORDED, prompt_id="B"),
        example("a2", BASE, prompt_id="A"),
        example("b3", REWORDED, prompt_id="B"),
    ]
    assert [r.id for r in near_dedup(rows, ctx)] == ["b1", "b2", "b3"]
    assert rejects(ctx) == {"a1": ("near_duplicate", "b1", 20 / 26), "a2": ("near_duplicate", "b1", 20 / 26)}


def test_responses_to_one_prompt_are_not_near_duplicates_of_each_other(tmp_path):
    ctx = make_ctx(tmp_path)
    rows = [example(f"r{i}", BASE, prompt_id="P", output="Dear customer, sorry.") for i in range(3)]
    assert [r.id for r in near_dedup(rows, ctx)] == ["r0", "r1", "r2"]
    assert ctx.reject.records == []


def test_lsh_false_positive_is_verified_and_kept(tmp_path):
    ctx = make_ctx(tmp_path)
    a, b = shingles(BASE), shingles(FALSE_POSITIVE)
    assert jaccard(a, b) == 18 / 28
    # Precondition: the real index does propose this pair, so the test exercises verification.
    index = ShingleIndex([BASE, FALSE_POSITIVE], threshold=0.7, num_perm=128)
    assert index.candidate_pairs() == {(0, 1)} and index.similar_pairs() == []
    rows = [example("r1", BASE), example("r2", FALSE_POSITIVE)]
    assert [r.id for r in near_dedup(rows, ctx)] == ["r1", "r2"]


def test_chained_near_duplicates_form_one_cluster(tmp_path):
    ctx = make_ctx(tmp_path)
    # BASE ~ REWORDED (0.77) and REWORDED ~ FALSE_POSITIVE (0.77), but BASE !~ FALSE_POSITIVE.
    # REWORDED is the medoid (closest to both others), so it is the one kept.
    rows = [example("x", BASE), example("y", REWORDED), example("z", FALSE_POSITIVE)]
    assert [r.id for r in near_dedup(rows, ctx)] == ["y"]
    to_z = jaccard(shingles(REWORDED), shingles(FALSE_POSITIVE))
    assert to_z > 18 / 28
    assert rejects(ctx) == {"x": ("near_duplicate", "y", 20 / 26), "z": ("near_duplicate", "y", to_z)}


def test_decontaminate_drops_prompts_close_to_a_heldout_seed(tmp_path):
    ctx = make_ctx(tmp_path)
    ctx.heldout = [
        SeedExample(id="held-9", instruction="Reply to this customer.",
                    input="My order of blue ceramic mugs will arrive two days late because of a storm.",
                    output="Sorry."),
        SeedExample(id="held-3", instruction="Reverse the word.", input="hello", output="olleh"),
    ]
    rows = [
        example("leak", "Reply to this client.",
                input="My order of blue ceramic mugs will arrive two days late because of a blizzard."),
        example("leak-2", "Reply to this client.", prompt_id="p-leak", output="Another reply.",
                input="My order of blue ceramic mugs will arrive two days late because of a blizzard."),
        example("clean", DISTINCT),
    ]
    kept = [r.id for r in decontaminate(rows, ctx)]
    # Two words changed of 19: "customer" (3 shingles) and the last word (1): 13 shared of 21.
    sim = jaccard(shingles(rows[0].prompt), shingles(ctx.heldout[0].prompt))
    assert sim == 13 / 21 and sim >= ctx.cfg.decontam_threshold
    assert kept == ["clean"]
    assert rejects(ctx) == {"leak": ("contaminated", "held-9", 13 / 21),
                            "leak-2": ("contaminated", "held-9", 13 / 21)}


def test_similarity_exactly_at_a_threshold_is_dropped_and_just_under_is_kept():
    """"At or above the threshold": the boundary itself, for near-duplicates and contamination."""
    sim = jaccard(shingles(BASE), shingles(REWORDED))
    assert sim == 20 / 26
    for threshold, kept in [(sim, ["x"]), (math.nextafter(sim, 1.0), ["x", "y"])]:
        env = make_env(near_dup_threshold=threshold)
        assert [r.id for r in near_dedup([example("x", BASE), example("y", REWORDED)], env)] == kept
    held = SeedExample(id="held-1", instruction=BASE, output="Sorry.")
    for threshold, kept in [(sim, []), (math.nextafter(sim, 1.0), ["y"])]:
        env = make_env(decontam_threshold=threshold, heldout=[held])
        assert [r.id for r in decontaminate([example("y", REWORDED)], env)] == kept
    assert rejects(env) == {}


def test_decontaminate_without_heldout_passes_everything(tmp_path):
    ctx = make_ctx(tmp_path)
    rows = [example("a", BASE)]
    assert list(decontaminate(rows, ctx)) == rows and ctx.reject.records == []


def test_diversity_filter_greedy_against_seeds_and_kept_prompts(tmp_path):
    ctx = make_ctx(tmp_path, "validate.diversity_threshold=0.8")
    ctx.train_seeds = [SeedExample(id="seed-1", instruction="Write a poem about the sea at night.",
                                   output="Waves.")]
    rows = [
        example("g1", "Write a poem about the sea at dawn.", prompt_id="G1"),  # close to the seed
        example("g2", DISTINCT, prompt_id="G2"),
        example("g3", "List three rivers in Germany and the towns they pass through.", prompt_id="G3"),
        example("g3b", "List three rivers in Germany and the towns they pass through.", prompt_id="G3"),
        example("g4", "Explain how a bicycle gear works.", prompt_id="G4"),
    ]
    emb = HashEmbedder()
    v = emb.embed([ctx.train_seeds[0].prompt, rows[0].prompt, DISTINCT, rows[2].prompt])
    to_seed, to_g2 = float(v[0] @ v[1]), float(v[2] @ v[3])
    assert to_seed >= 0.8 and to_g2 >= 0.8  # the hashing embedder's exact decision values

    assert [r.id for r in diversity_filter(rows, ctx)] == ["g2", "g4"]
    assert {r.row_id: (r.reason, r.dup_of) for r in ctx.reject.records} == {
        "g1": ("too_similar", "seed-1"), "g3": ("too_similar", "g2"), "g3b": ("too_similar", "g2")}
    got = {r.row_id: (r.score, r.similarity) for r in ctx.reject.records}
    assert got["g1"] == (pytest.approx(to_seed, abs=1e-6),) * 2
    assert got["g3"] == got["g3b"] == (pytest.approx(to_g2, abs=1e-6),) * 2


def test_diversity_filter_empty_input(tmp_path):
    ctx = make_ctx(tmp_path)
    assert list(diversity_filter([], ctx)) == []


def test_blocked_greedy_selection_matches_one_row_at_a_time(monkeypatch):
    import numpy as np

    from seedfactory.validators import diversity

    rng = np.random.default_rng(0)
    vecs = rng.normal(size=(300, 8)).astype(np.float32)
    vecs[100:200] = vecs[:100] + 0.3 * rng.normal(size=(100, 8)).astype(np.float32)  # near copies
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)

    def one_at_a_time(fixed, threshold):
        kept, out = list(range(fixed)), []
        for i in range(fixed, len(vecs)):
            sims = vecs[kept] @ vecs[i] if kept else np.zeros(0)
            j = int(np.argmax(sims)) if kept else -1
            if kept and sims[j] >= threshold:
                out.append((kept[j], round(float(sims[j]), 5)))
            else:
                kept.append(i)
                out.append((-1, 0.0))
        return out

    monkeypatch.setattr(diversity, "BLOCK", 16)
    monkeypatch.setattr(diversity, "KEPT_CHUNK", 7)
    nearest, sims = diversity.greedy_select(vecs, 5, 0.8)
    got = [(int(j), round(float(s), 5) if j >= 0 else 0.0) for j, s in zip(nearest, sims)]
    want = one_at_a_time(5, 0.8)
    assert got == want and sum(j >= 0 for j, _ in want) > 20


def test_clusters_are_the_groups_of_two_or_more_in_order_without_singletons():
    other = ("Summarise the attached quarterly sales report for the board of directors in five short bullet "
             "points and one closing sentence please.")
    texts = [BASE, DISTINCT, REWORDED, other, other.replace("five", "six"), "Translate good morning into Welsh."]
    index = ShingleIndex(texts, threshold=0.7, num_perm=128)
    # two clusters, each ascending, neither singleton (DISTINCT, the Welsh prompt) listed
    assert near_duplicate_clusters(index) == [[0, 2], [3, 4]]


def _cluster_rows(n: int) -> tuple[list, str]:
    """n prompts that are all near-duplicates of each other: an 80-word text and n - 1 copies with one word
    each changed at its own position. The unchanged text (placed 11th) is the medoid: 75 of 81 shingles shared
    with every copy, while two copies share at most 74 of 82."""
    words = [f"word{i}" for i in range(80)]
    texts = [" ".join(words[:p] + [f"edit{p}"] + words[p + 1:]) for p in range(5, 5 + n - 1)]
    texts.insert(10, " ".join(words))
    return [example(f"r{i}", t) for i, t in enumerate(texts)], "r10"


def test_the_medoid_is_kept_in_a_cluster_of_64_members_and_the_first_one_above(tmp_path):
    # the sizes are the documented ones, not read from MEDOID_MAX, so a changed constant is caught
    rows, medoid = _cluster_rows(64)
    assert [r.id for r in near_dedup(rows, make_ctx(tmp_path))] == [medoid]
    # one member more: the all-pairs centrality is skipped, the first seen is kept
    rows, _ = _cluster_rows(65)
    assert [r.id for r in near_dedup(rows, make_ctx(tmp_path))] == ["r0"]


def test_greedy_selection_ties_go_to_the_earlier_kept_row_and_the_threshold_itself_drops(monkeypatch):
    import numpy as np

    from seedfactory.validators import diversity

    e1, e2, e3 = np.eye(3, dtype=np.float32)
    mid = (e1 + e2) / np.float32(np.sqrt(2))  # the same cosine (1/sqrt 2) to e1 and to e2
    # two seeds; the candidate ties between them, read in two kept chunks: the first seed stays nearest
    monkeypatch.setattr(diversity, "KEPT_CHUNK", 1)
    nearest, sims = diversity.greedy_select(np.stack([e1, e2, mid]), 2, 0.7)
    assert nearest.tolist() == [0] and sims[0] == pytest.approx(2 ** -0.5)
    # a tie between a seed (kept before the block) and a row kept inside the block: the seed stays nearest
    nearest, _ = diversity.greedy_select(np.stack([e1, e2, mid]), 1, 0.7)
    assert nearest.tolist() == [-1, 0]
    # a cosine exactly at the threshold is dropped; just above it, the row is kept
    assert diversity.greedy_select(np.stack([e3, e3]), 1, 1.0)[0].tolist() == [0]
    assert diversity.greedy_select(np.stack([e3, e1]), 1, 0.0)[0].tolist() == [0]
    assert diversity.greedy_select(np.stack([e3, e1]), 1, 1e-6)[0].tolist() == [-1]


def test_a_group_too_similar_to_a_kept_group_names_that_groups_first_row(tmp_path):
    ctx = make_ctx(tmp_path, "validate.diversity_threshold=0.9")
    rows = [example("k1", DISTINCT, prompt_id="K"), example("k2", DISTINCT, prompt_id="K"),
            example("d1", DISTINCT, prompt_id="D")]
    assert [r.id for r in diversity_filter(rows, ctx)] == ["k1", "k2"]
    assert {r.row_id: (r.reason, r.dup_of) for r in ctx.reject.records} == {"d1": ("too_similar", "k1")}


def _as(row, *, strategy=None, label=None):
    """The row with its lineage's strategy and/or label changed."""
    update = {k: v for k, v in (("strategy", strategy), ("label", label)) if v is not None}
    return row.model_copy(update={"lineage": row.lineage.model_copy(update=update)})


FIELDS_IN = ("Order 4471 from Kestrel Supplies for boxes of printer paper and toner cartridges, total 88.20 EUR, "
             "due 2024-05-03, payable by bank transfer to the usual account.")


def test_keep_best_ranks_by_what_validation_knows_not_by_a_judge_score(tmp_path):
    """Each pair is a near-duplicate cluster whose first-seen group would win on order alone; the
    signal named wins instead, and a higher judge score on the other group changes nothing."""
    scored = {"judge": 5.0}
    instr = "Extract the order fields as JSON."
    other_in = FIELDS_IN.replace("Order 4471", "Order 4472")
    full = {"number": "4471", "total": 88.2}
    cases = {
        # 1. a group holding an output-first target row (label right by construction) beats more answers
        "target": ([example("t1", instr, input=FIELDS_IN, prompt_id="T", output=full),
                    example("t2", instr, input=FIELDS_IN, prompt_id="T", output=full)],
                   [_as(example("w", instr, input=other_in, prompt_id="W",
                                output={**full, "number": "4472"}), label="target")], "w"),
        # 2. a code-written input beats a teacher-written one
        "code": ([_as(example("teach", instr, input=FIELDS_IN, output=full), strategy="output_first:teacher")],
                 [_as(example("tmpl", instr, input=other_in, output={**full, "number": "4472"}),
                      strategy="output_first:template")], "tmpl"),
        # 3. all of its values stated in the input beats a value the input does not state
        "grounded": ([make_example("half", instr, input=FIELDS_IN, output={"number": "9999", "total": 88.2},
                              scores=scored)],
                     [example("all", instr, input=other_in, output={"number": "4472", "total": 88.2})], "all"),
    }
    for name, (first, second, kept) in cases.items():
        env = make_env()
        out = [r.id for r in near_dedup([*first, *second], env)]
        assert out == [kept], name
        assert {r.reason for r in env.reject.records} == {"near_duplicate"}
        assert {r.dup_of for r in env.reject.records} == {kept}, name


def test_of_equal_groups_the_prompt_with_more_distinct_words_is_kept(tmp_path):
    longer = BASE.replace("blue ceramic mugs", "blue ceramic coffee mugs")
    env = make_env()
    assert [r.id for r in near_dedup([example("short", BASE), example("long", longer)], env)] == ["long"]
    assert [(r.row_id, r.dup_of) for r in env.reject.records] == [("short", "long")]


def test_group_signals_in_rank_order():
    from seedfactory.validators.dedup import grounded_share, group_signals

    row = example("a", "Extract.", input=FIELDS_IN, output={"number": "4471", "total": 1.0, "note": None})
    assert grounded_share(row) == 0.5  # 4471 stated, 1.0 not, the null not counted
    assert grounded_share(example("b", "Say hi.", output="hi")) == 0.0
    target = _as(row, label="target", strategy="output_first:rewrite")
    assert group_signals([row, target]) == (1, 1, 0.5, 2, len(set(row.prompt.lower().split())))
    assert group_signals([_as(row, strategy="output_first:teacher")])[:2] == (0, 0)
