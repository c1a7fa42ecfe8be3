"""Mutation testing with cosmic-ray: small bugs put into the code one at a time, each module's tests run on each.

A mutant its tests fail on is killed; one they pass on is a survivor (a bug our tests would let
through). Prints the score per file and every survivor, and as its last line one JSON object
`{"mutants": N, "killed": K, "score": K/N, "survivors": [...], "equivalent": [...], ...}`.

    make mutation                                   # the whole scope below (long: run it niced)
    python scripts/mutation.py judges/pairs.py      # one module, its own tests
    python scripts/mutation.py judges/pairs.py --tests tests/test_judges.py   # a fixed test set instead
    python scripts/mutation.py --fresh              # forget earlier sessions and the test map
    python scripts/mutation.py --retest-survivors   # after adding tests: run only the survivors again

Affordable because a mutant in module M runs only M's tests, fail-fast (`-x`), fastest files first.
Which tests exercise M comes from one coverage run of the fast suite with a context per test
(`.mutation/testmap.json`, made again when a file under tests/ changes), less the few tests slower
than `--max-test-seconds`. Of those, a mutant runs only the tests that execute its mutated lines
(scripts/mutation_run.py; the whole list where a line runs at import or in code coverage cannot see,
such as numba kernels; `--full-lists` to run the whole list always). Each module has its own
cosmic-ray session in `.mutation/`, so a stopped run resumes where it stopped; a module whose source
or tests changed starts over. Its timeout is its tests' baseline time on the unmutated code times
`--factor`. Tests run in subprocesses the map cannot see: a module only they exercise gets no
tests, and its mutants count as survivors.

cosmic-ray edits the files in place, one mutant at a time, and puts them back: do not edit or test
in this worktree while it runs, and stop it with Ctrl-C (SIGINT), which lets it put the file back.
Timeouts count as killed. Only the operators for the bugs we would make run (off-by-one numbers,
`<` vs `<=`, `and`/`or`, `not`, `+`/`-`, `*`/`/`, True/False, loops that never run, break/continue);
exotic swaps such as `+` -> `<<` are filtered out. Mutants listed in EQUIVALENT (no test can tell
them from the code) are reported apart and never counted as killed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCOPE = ["validators", "judges", "generators/cache.py", "generators/openai_backend.py",
         "seedfactory/pipeline.py", "seedfactory/publish.py"]
# Modules whose kernels numba compiles: coverage never sees them run, so a test that reaches them
# only through another module is not in their list; the tests of the modules that call them are added.
COMPILED_CALLERS = {"validators/minhash_jit.py": ["validators/minhash.py"]}
# Modules too costly to run whole: each mutant of minhash_jit recompiles its numba kernels (~10 s a
# process, 648 mutants); a seeded random sample of this many runs instead (`--sample MODULE=0`: all).
SAMPLED = {"validators/minhash_jit.py": 30}
EXCLUDE = [
    r"core/ReplaceBinaryOperator_(?!Add_Sub$|Sub_Add$|Mul_Div$|Div_Mul$)",
    r"core/ReplaceComparisonOperator_(?!(Lt_LtE|LtE_Lt|Gt_GtE|GtE_Gt|Lt_GtE|GtE_Lt|Gt_LtE|LtE_Gt|Eq_NotEq|NotEq_Eq"
    r"|Is_IsNot|IsNot_Is|In_NotIn|NotIn_In)$)",
    r"core/ReplaceUnaryOperator_(?!Delete_Not$|Delete_USub$)",
    r"core/(VariableInserter|VariableReplacer|RemoveDecorator|ExceptionReplacer)$",
]
# Reasons and lines shared by several entries below.
RENUMBERED = "if k < n - 1 and V ** (k + 2) >= 2 ** 62:"
RENUMBER = ("renumbering keeps the keys' order and equality, so renumbering earlier, later, more often or never"
            " gives the same n-gram keys; it guards against int64 wrap, which takes V**3 >= 2**63 (over 2"
            " million distinct words in non-ASCII texts) and even then collides two n-grams only by chance")
ONE_PASS = "the per-text path gives the same words and counts as the one-pass path; it is only slower"
FILL_OVERWRITTEN = "every distinct key has an occurrence, so every fill value is overwritten before it is read"
LINE_BUFFERED = ("flush of a message to stderr: since Python 3.9 stderr is line-buffered, and every message"
                 " ends in a newline")
# Mutants no test can tell apart from the code: (file, operator, text on the mutated line, why[, text
# of the mutant's side of the diff, its lines with their context, where only some replacements on the
# line, or only one of several lines alike, are equivalent]).
# Matched by the line's text, not its number, so edits elsewhere in the file do not unhook them.
EQUIVALENT: list[tuple[str, ...]] = [
    ("validators/quality.py", "ReplaceAndWithOr", "if a and b else 0.0",
     "with one word set empty the intersection is empty: 0.0 either way"),
    ("validators/quality.py", "NumberReplacer", "if flags else 1.0",
     "never empty where called: input checks need inputs, span_fields lists only fields some seed states"),
    ("validators/quality.py", "NumberReplacer", "np.fill_diagonal(sims, -1.0)",
     "-1.0 -> -2.0: cosines are >= -1, so the diagonal is never the max either way (-1.0 -> -0.0 is killed)"),
    ("validators/quality.py", "NumberReplacer", "nearest = sims.max(axis=1)",
     "axis=1 -> axis=0: a Gram matrix is symmetric, its row and column maxima are the same"),
    ("validators/filters.py", "ReplaceTrueWithFalse", "Verdict = Literal[True] | tuple[Literal[False]",
     "a type alias: annotations do not run"),
    ("validators/base.py", "ReplaceBinaryOperator_Mul_Div", "reason: str, *, score",
     "the keyword-only marker * becomes the positional-only /: every caller passes these by keyword"),
    ("validators/filters.py", "ReplaceFalseWithTrue", "Verdict = Literal[True] | tuple[Literal[False]",
     "a type alias: annotations do not run"),
    ("validators/filters.py", "ReplaceBinaryOperator_Mul_Div", "(row: Example, *, ",
     "the keyword-only marker * becomes the positional-only /: every caller passes these by keyword"),
    ("judges/consensus.py", "NumberReplacer", "top, n = votes.most_common(1)[0]",
     "most_common(2)[0] and most_common(1)[-1] are the same top vote (most_common(0) raises and is killed)"),
    ("judges/consensus.py", "NumberReplacer", "return Consensus(1.0, {answers[0].id: 1.0}, answers[0])",
     "answers[0] -> answers[1] raises (killed); answers[-1] is the same single answer"),
    ("judges/consensus.py", "NumberReplacer", "mean_to_others = (sims.sum(axis=1) - np.diag(sims)) / (n - 1)",
     "axis=1 -> axis=0: a Gram matrix is symmetric, its row and column sums are the same"),
    ("validators/similarity.py", "ReplaceOrWithAnd", "if not a or not b:",
     "with one set empty the intersection is empty: 0 / len(the other) is 0.0 either way"),
    ("validators/lsh.py", "NumberReplacer", "mixed = table.fps * np.uint64(0x9E3779B97F4A7C15)",
     "another odd constant is another hash: groups are confirmed by Jaccard 1.0 whatever the hash"),
    ("validators/lsh.py", "ReplaceComparisonOperator_Gt_GtE", "nonempty = lens > 0",
     "empty texts then share a hash group, and the Jaccard-1.0 check (0 for empty sets) joins none of them"),
    ("validators/lsh.py", "NumberReplacer", "nonempty = lens > 0",
     "0 -> -1 is lens >= 0: as above (0 -> 1 is killed by a copied one-shingle text)"),
    ("validators/lsh.py", "NumberReplacer", "cand = idx[start][inverse.reshape(-1)]",
     "numpy 2 reads reshape(-2) as reshape(-1) (reshape(0) raises and is killed)"),
    ("validators/lsh.py", "ReplaceBinaryOperator_Mul_Div", "def __init__(self, texts: Sequence[str], *, threshold",
     "the keyword-only marker * becomes the positional-only /: every caller passes these by keyword"),
    ("validators/lsh.py", "NumberReplacer", "mixed ^= mixed >> np.uint64(31)",
     "another shift is another order-free hash: groups are confirmed by Jaccard 1.0 whatever the hash"),
    ("validators/lsh.py", "NumberReplacer", "key ^= lens.astype(np.uint64) * np.uint64(0xC2B2AE3D27D4EB4F)",
     "another odd constant is another hash: groups are confirmed by Jaccard 1.0 whatever the hash"),
    ("validators/lsh.py", "NumberReplacer", "exclude: Iterable[str] = (), workers: int = 1):",
     "workers=2 or 0: a pool starts only above 20,000 texts and gives the same table (test_process_pool...)"),
    ("validators/lsh.py", "NumberReplacer", "@lru_cache(maxsize=32)", "the cache's size changes speed, not results"),
    ("validators/lsh.py", "NumberReplacer", "return sorted(found, key=lambda p: (-p[1], p[0]))",
     "p[0] -> p[1] or p[-1]: ties then keep candidate order, ascending positions already (sort is stable);"
     " -p[1] -> -p[0] is killed"),
    ("validators/dedup.py", "ReplaceFalseWithTrue", "connected_components(graph, directed=False)",
     "directed=True with scipy's default connection='weak' finds the same components"),
    ("validators/dedup.py", "NumberReplacer", "return [0.0] * len(members)",
     "0.0 -> 1.0 or -1.0: every member gets the same centrality either way, so it never decides"),
    ("validators/dedup.py", "NumberReplacer", "ShingleIndex([g[0].prompt for g in groups]",
     "g[0] -> g[-1]: the rows of a prompt group share its prompt (g[1] raises on a one-row group and is killed)"),
    ("validators/dedup.py", "NumberReplacer", "dropped[groups[i][0].prompt_id] = (groups[keep][0].id, sim)",
     "groups[i][0] -> groups[i][-1]: a group's rows share its prompt_id (the other changes are killed)"),
    ("validators/dedup.py", "NumberReplacer", "best = index.matches(row.prompt)[:1]",
     "[:1] -> [:2]: only the best match, best[0], is read ([:0] is killed)"),
    ("validators/dedup.py", "NumberReplacer", "ii, jj = np.triu_indices(len(m), k=1)",
     "k=1 -> k=0 adds each member's Jaccard to itself (1.0, twice) to every member alike (k=2 is killed)"),
    ("validators/dedup.py", "NumberReplacer", "verdicts[row.prompt_id] = (heldout[best[0][0]].id, best[0][1]) if best",
     "best is one (seed, similarity) match ([:1]): [0] -> [-1] and [1] -> [-1] read the same element"),
    ("validators/diversity.py", "NumberReplacer", "pre_idx = np.full(len(block), -1, dtype=np.int64)",
     "-1 -> 0 or -2: pre_idx is read with a -inf similarity wherever no kept row set it, which never passes"),
    ("validators/diversity.py", "NumberReplacer", "if idx >= 0 and sim >= threshold:",
     "0 -> -1: idx is -1 only beside a -inf similarity, which never passes the threshold (0 -> 1 is killed)"),
    ("validators/diversity.py", "NumberReplacer", "else np.zeros((0, 1), dtype=np.float32)",
     "with no seeds: an array of 0 or 1 rows, or of 2 or 0 columns, leaves the band not applied (needs 3 rows);"
     " a negative size raises (test_seed_band_with_fewer_than_three_seeds...)"),
    ("validators/diversity.py", "NumberReplacer", "BLOCK = 512",
     "the block size changes how the work is cut, not a decision (test_blocked_greedy_selection... runs 16)"),
    ("validators/diversity.py", "NumberReplacer", "KEPT_CHUNK = 8192",
     "the chunk size changes how the work is cut, not a decision (test_blocked_greedy_selection... runs 7)"),
    ("validators/diversity.py", "ReplaceUnaryOperator_Delete_USub", "pre_idx = np.full(len(block), -1, dtype=np.int64)",
     "-1 -> 1: pre_idx is read with a -inf similarity wherever no kept row set it, which never passes"),
    ("validators/diversity.py", "NumberReplacer", "if not g[0].lineage.strategy.endswith(",
     "g[0] -> g[-1]: the rows of a prompt group come from one request, one strategy"),
    ("validators/diversity.py", "NumberReplacer", "[s.prompt for s in seeds] + [g[0].prompt for g in groups]",
     "g[0] -> g[-1]: the rows of a prompt group share its prompt"),
    ("validators/diversity.py", "NumberReplacer", "far[g[0].prompt_id] = (seeds[j].id",
     "g[0] -> g[-1]: the rows of a prompt group share its prompt_id"),
    ("validators/diversity.py", "NumberReplacer", "vecs = emb.embed([text(g[0]) for g in groups])",
     "g[0] -> g[-1]: the rows of a prompt group share its prompt and input (g[1] raises on one-row groups)"),
    ("generators/cache.py", "ReplaceFalseWithTrue", "db = sqlite3.connect(str(path), check_same_thread=False)",
     "only the opening thread uses the connection (the OpenAI backend's asyncio loop runs on the caller's"
     " thread): the flag merely permits other threads"),
    ("validators/diversity.py", "NumberReplacer", "dropped = {g[0].prompt_id: (ids[j], float(sim))",
     "g[0] -> g[-1]: the rows of a prompt group share its prompt_id"),
    ("validators/embedders.py", "NumberReplacer", "return (vectors / np.where(norms == 0, 1.0, norms))",
     "1.0 -> 2.0 divides only zero vectors, which stay zero (1.0 -> 0.0 gives NaN and is killed)"),
    ("judges/rubric.py", "ReplaceBinaryOperator_Add_Sub", "probs.get(int(alt.strip()), 0.0) + math.exp(lp)",
     "every digit's mass negated alike: the weighted mean, a ratio of the two sums, is the same"),
    ("judges/rubric.py", "NumberReplacer", "batch_size: int = 64,",
     "the default batch size changes how many requests go out at once, not any verdict"),
    ("judges/selftest.py", "ReplaceContinueWithBreak", "continue",
     "a seed has no others only when every seed shares its id: then every seed is skipped either way"),
    ("generators/cache.py", "NumberReplacer", 'ok = db.execute("PRAGMA quick_check").fetchone()[0]',
     "a one-column row: [0] -> [-1] is the same value ([1] raises and is killed)"),
    ("generators/cache.py", "NumberReplacer", "return GenerationResult.model_validate_json(row[0]) if row else None",
     "a one-column row: [0] -> [-1] is the same value ([1] raises and is killed)"),
    ("judges/pairs.py", "NumberReplacer", "scored.sort(key=lambda t: (-t[0], t[1]))",
     "t[1] -> t[0]: ties then keep list order, which is the index order t[1] sorts by (sort is stable)"),
    ("judges/fence.py", "ReplaceComparisonOperator_Lt_LtE", "while start < m.start() and text[start] in",
     "every GRADER branch opens with \\b and a word character, so text[m.start()] is never a space or tab"),
    ("judges/fence.py", "ReplaceComparisonOperator_LtE_Lt", "if merged and start <= merged[-1][1]:",
     "spans that only touch stay two: the final re.sub joins their two notes into one"),
    ("judges/fence.py", "NumberReplacer", "if merged and start <= merged[-1][1]:",
     "sentence spans are equal (claims in one sentence) or apart, never partly overlapping: comparing with the"
     " first span or the last span's start merges the same equal ones, and touching ones are joined by re.sub"),
    ("judges/fence.py", "NumberReplacer", "merged[-1][1] = max(merged[-1][1], end)",
     "only equal spans merge, so max(first end | last start, end) is end as well (merged[-0] on the left"
     " is killed by test_two_claims_in_one_sentence_do_not_reach_back...)"),
    ("validators/minhash.py", "AddNot", 'if not texts or joined.count("\\0") != len(texts) - 1:',
     ONE_PASS),
    ("validators/minhash.py", "NumberReplacer", "V = max(len(words), 1)",
     "V is 0 only when there are no words, and then there is no key to scale"),
    ("validators/minhash.py", "NumberReplacer", RENUMBERED, RENUMBER),
    ("validators/minhash.py", "ReplaceBinaryOperator_Add_Sub", RENUMBERED, RENUMBER),
    ("validators/minhash.py", "ReplaceBinaryOperator_Sub_Add", RENUMBERED, RENUMBER),
    ("validators/minhash.py", "ReplaceBinaryOperator_Mul_Div", RENUMBERED, RENUMBER),
    ("validators/minhash.py", "ReplaceComparisonOperator_Lt_LtE", RENUMBERED, RENUMBER),
    ("validators/minhash.py", "ReplaceComparisonOperator_Lt_GtE", RENUMBERED, RENUMBER),
    ("validators/minhash.py", "ReplaceComparisonOperator_GtE_Gt", RENUMBERED, RENUMBER),
    ("validators/minhash.py", "ReplaceComparisonOperator_GtE_Lt", RENUMBERED, RENUMBER),
    ("validators/minhash.py", "ReplaceAndWithOr", RENUMBERED, RENUMBER),
    ("validators/minhash.py", "NumberReplacer", "workers: int = 1, n: int = SHINGLE_WORDS, min_chunk: int = 20_000)",
     "the default moves where a pool starts, not the table (the boundary is tested with min_chunk given:"
     " test_a_pool_starts_only_above_min_chunk_texts; test_process_pool_gives_the_same_table)"),
    ("validators/minhash.py", "NumberReplacer", "size = max(min_chunk // 4, -(-len(texts) // (workers * 4)))",
     "the chunk size changes how the work is cut, not the table (test_process_pool_gives_the_same_table)"),
    ("validators/minhash.py", "NumberReplacer", "codes = codes[np.diff(codes, prepend=-1) != 0]",
     "codes are i * n + j with i < j, so at least 1: a prepended 0 or -2 keeps the first code as -1 does"),
    ("validators/minhash.py", "NumberReplacer", "pairs = np.ascontiguousarray(pairs, dtype=np.int64).reshape(-1, 2)",
     "numpy 2 reads reshape(-2, 2) as reshape(-1, 2)"),
    ("validators/minhash.py", "ReplaceUnaryOperator_Delete_Not",
     'if not texts or joined.count("\\0") != len(texts) - 1:',
     ONE_PASS),
    ("validators/minhash.py", "NumberReplacer", 'if not texts or joined.count("\\0") != len(texts) - 1:', ONE_PASS),
    ("validators/minhash.py", "ReplaceBinaryOperator_Add_Sub", "key = key * V + wid[pos + k]",
     "key * V - w is as one-to-one as key * V + w for 0 <= w < V: keys are only compared for equality"),
    ("validators/minhash.py", "ReplaceBinaryOperator_Mul_Div", "key = key * V + wid[pos + k]",
     "not worth a test: float keys key / V + w are distinct in exact arithmetic and collide only when V**2"
     " outgrows a double's precision, past ~300,000 distinct words in non-ASCII texts"),
    ("validators/minhash.py", "NumberReplacer", "first = np.full(len(ukeys), -1, dtype=np.int64)", FILL_OVERWRITTEN),
    ("validators/minhash.py", "ReplaceUnaryOperator_Delete_USub", "first = np.full(len(ukeys), -1, dtype=np.int64)",
     FILL_OVERWRITTEN),
    ("validators/minhash.py", "NumberReplacer", "BUCKET_WINDOW = 64",
     "the window trades candidate pairs for speed: members of a bucket still chain into one cluster"
     " (test_chained_near_duplicates_form_one_cluster), and every candidate is confirmed by true Jaccard"),
    ("validators/minhash.py", "NumberReplacer", "@lru_cache(maxsize=8)", "the cache's size changes speed, not results"),
    ("validators/minhash.py", "NumberReplacer", "a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32)",
     "1 << 31 -> 2 << 31 or 1 << 32: randint's masked draw gives the same low 31 bits and * 2 in uint32"
     " drops the 32nd, so a is the same (1 << 30, randint(1, ...) and + 0 are killed)"),
    ("validators/minhash.py", "NumberReplacer", "keys ^= keys >> np.uint64(29)",
     "another shift is another band hash: a collision only adds a candidate, which Jaccard rejects"),
    ("validators/minhash.py", "NumberReplacer", "    if n < 2:",
     "n < 1: one signature gives no pair on the compiled path either (an empty (0, 2) array)"),
    ("validators/minhash.py", "ReplaceBinaryOperator_Sub_Add", 'if not texts or joined.count("\\0") != len(texts) - 1:',
     ONE_PASS),
    ("validators/minhash.py", "AddNot", RENUMBERED, RENUMBER),
    ("validators/minhash.py", "ReplaceUnaryOperator_Delete_USub",
     "size = max(min_chunk // 4, -(-len(texts) // (workers * 4)))",
     "the chunk size changes how the work is cut, not the table (test_process_pool_gives_the_same_table)"),
    ("validators/minhash.py", "NumberReplacer", "for k in range(1, n):  # mixed radix",
     "range(0, n) folds the first word in twice, w0 * (V**3 + V**2) + w1 * V + w2: still one key per n-gram"),
    ("validators/minhash.py", "NumberReplacer", "inverse = inverse.reshape(-1)",
     "numpy 2 reads reshape(-2) as reshape(-1)"),
    ("validators/minhash.py", "NumberReplacer", "scale = max(len(by_fp), 1)",
     "any scale at least the number of ranks encodes (document, rank) one-to-one; 0 only when there is no"
     " shingle at all and the arrays it divides are empty"),
    ("validators/minhash.py", "NumberReplacer", "combined = combined[np.diff(combined, prepend=-1) != 0]",
     "-1 -> -2: combined values are >= 0, so the first is kept either way (-1 -> 0 is killed)"),
    ("validators/minhash.py", "NumberReplacer", "mult = np.uint64(0x9E3779B97F4A7C15)",
     "another odd constant is another band hash: a collision only adds a candidate, which Jaccard rejects"),
    ("generators/openai_backend.py", "NumberReplacer", 'f"garbage reply: {type(e).__name__}: {str(e)[:120]}"',
     "not worth a test: how many characters of the parser's message and of the body a garbage-reply error keeps"),
    ("validators/values.py", "NumberReplacer", 'return "th" if 10 <= n % 100 <= 20 else',
     "10 -> 9 or 11, 20 -> 19 or 21 at the range's ends: days 9, 10, 19, 20 end in 9 or 0, which the table"
     " gives 'th' as well (21 -> 'st' and the table's own changes are killed by test_ordinal_suffixes...)"),
    ("validators/values.py", "ReplaceComparisonOperator_LtE_Lt", 'return "th" if 10 <= n % 100 <= 20 else',
     "10 < n or n < 20: days 10 and 20 end in 0, which the table gives 'th' as well"),
    ("generators/openai_backend.py", "NumberReplacer", "sleep=None, clock=time.monotonic, seed: int = 0):",
     "not worth a test: the default seed of the backoff jitter (its draws are tested with a seed given)"),
    ("generators/openai_backend.py", "NumberReplacer", 'choice = data["choices"][0]',
     "[0] -> [-1]: one completion is asked for, so a reply holds one choice ([1] raises and is killed)"),
    ("generators/openai_backend.py", "NumberReplacer", "await self.sleep(max(wait, 0.01))",
     "0.01 -> -0.99: no server is free only while one's cool-down is ahead, so wait > 0 and max() is wait"
     " (0.01 -> 1.01 is killed by test_a_retry_after_under_a_second_is_waited_exactly)"),
    ("generators/openai_backend.py", "NumberReplacer", 'return str(err["message"])[:500]',
     "not worth a test: how many characters of a server's error message are kept"),
    ("generators/openai_backend.py", "NumberReplacer", "    return str(e)[:500]",
     "not worth a test: how many characters of a server's error message are kept"),
    ("seedfactory/pipeline.py", "ReplaceBinaryOperator_Mul_Div", "def run(cfg: RunConfig, out: Path, *, progress",
     "the keyword-only marker * becomes the positional-only /: every caller passes these by keyword"),
    ("seedfactory/pipeline.py", "ReplaceTrueWithFalse", "def run(cfg: RunConfig, out: Path, *, progress: bool = True",
     "not worth a test: the default of `progress`; the CLI and dry_run pass it explicitly"),
    ("seedfactory/pipeline.py", "NumberReplacer", "no rows left ({result.get('in', 0)} in;",
     "not worth a test: a default in a warning's wording; every stage reports its 'in' count"),
    ("seedfactory/pipeline.py", "NumberReplacer", '"seconds": round(ctx.elapsed(), 1), "finished_at"',
     "not worth a test: the rounding of a stage's seconds in its stats"),
    ("seedfactory/pipeline.py", "ReplaceTrueWithFalse", "print(msg, file=sys.stderr, flush=True)", LINE_BUFFERED),
    ("generators/cache.py", "ReplaceTrueWithFalse", 'print(f"warning: {msg}", file=sys.stderr, flush=True)',
     LINE_BUFFERED),
    *[("seedfactory/pipeline.py", "NumberReplacer", 'failed = result.get("quarantined", 0) or 0',
       "-1 for a missing or zero quarantined count: a negative share never exceeds a limit >= 0 (the config"
       " forbids negative ones), so there is no outage either way", becomes)
      for becomes in ('result.get("quarantined", -1) or 0', 'result.get("quarantined", 0) or -1')],
    ("validators/minhash.py", "ReplaceBinaryOperator_Mul_Div", "def shingle_table(texts: Sequence[str], *,",
     "the keyword-only marker * becomes the positional-only /: callers pass texts by position, the rest by keyword"),
    # minhash_jit.py: found in the seeded sample of 30 (SAMPLED); its other 618 mutants are not run
    ("validators/minhash_jit.py", "ReplaceBreakWithContinue", "break",
     "after a new shingle is put in an empty slot, `continue` reads that slot again and finds the same shingle"
     " there: the same id, one probe later", "ns += 1\n                    continue"),
    ("validators/minhash_jit.py", "NumberReplacer", "while size < 4 * min(m, 1 << 16):",
     "the first size of a word table that grows whenever it is half full: any first size gives the same ids"),
    ("validators/minhash_jit.py", "NumberReplacer", "size <<= 1",
     "a power-of-two table grown four-fold instead of two-fold: larger, with the same entries", "size <<= 2"),
    ("validators/minhash_jit.py", "ReplaceComparisonOperator_Lt_LtE", "while size < 2 * n:",
     "a band table one doubling larger when 2n is a power of two: the same buckets, fewer collisions"),
    ("validators/values.py", "ReplaceTrueWithFalse", "sorted(_MONTH_NUMBER, key=len, reverse=True)",
     "the order of the month alternatives: each is letters only and is followed by a non-letter ('.', space,"
     " '-', ',' or a digit), so where one name is a prefix of another at most one of them leads to a match"),
    ("validators/values.py", "ReplaceFalseWithTrue", 'suffix: bool = False  # "8th"',
     "the flag records how a date was read and is never read back: render fills {sfx} whenever the layout has it"),
    ("validators/values.py", "ReplaceTrueWithFalse", 'layout, g["d"].startswith("0"), True, len(g["y"]), lang, abbr',
     "month_pad of a layout with a month name: such layouts have no {m} slot to pad"),
]
PYTEST = ["-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "-m", "not slow"]


def modules(paths: list[str]) -> list[str]:
    """The .py files under `paths`, relative to the repo root."""
    out = []
    for p in paths:
        full = ROOT / p
        found = sorted(full.rglob("*.py")) if full.is_dir() else [full]
        out += [str(f.relative_to(ROOT)) for f in found if f.stat().st_size]
    return out


def collect_map(mods: list[str], out: Path) -> None:
    """One coverage run of the fast suite, a context per test; writes {module: [test ids fastest file first]}."""
    started = time.monotonic()
    code = f"import sys; sys.path.insert(0, {str(ROOT / 'scripts')!r}); import mutation_map; " \
           f"sys.exit(mutation_map.main({str(out)!r}, {[str(ROOT / m) for m in mods]!r}))"
    print("mutation: mapping tests to modules (one coverage run of the fast suite)", file=sys.stderr)
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
    print(f"mutation: test map written in {time.monotonic() - started:.0f} s", file=sys.stderr)


def without_slow(collected: dict, limit: float) -> dict[str, list[str]]:
    """The map less tests slower than `limit` seconds (as timed in the coverage run): one such test in
    a module's list costs every surviving mutant that much. Their kills are lost, never invented."""
    slow = {t for t, s in collected["seconds"].items() if s > limit}
    if slow:
        print(f"mutation: {len(slow)} tests over {limit:.0f} s left out of the map: {', '.join(sorted(slow))}",
              file=sys.stderr)
    lists = {m: [t for t in tests if t not in slow] for m, tests in collected["modules"].items()}
    for module, callers in COMPILED_CALLERS.items():  # compiled code: coverage sees only its Python lines
        if module in lists:
            lists[module] += [t for c in callers for t in lists.get(c, []) if t not in lists[module]]
    return lists


def config(path: str, tests: list[str], timeout: float, spec: Path | None = None) -> str:
    """cosmic-ray's config for one module; with `spec`, each mutant runs through mutation_run.py,
    which keeps only the tests that execute its mutated lines."""
    select = [sys.executable, str(ROOT / "scripts" / "mutation_run.py"), str(spec), "--"] if spec else []
    test_cmd = shlex.join([*select, sys.executable, *PYTEST, *tests])
    return "\n".join([
        "[cosmic-ray]", f"module-path = {json.dumps(path)}", f"timeout = {timeout:.0f}", "excluded-modules = []",
        f"test-command = {json.dumps(test_cmd)}", "", "[cosmic-ray.distributor]", 'name = "local"', "",
        "[cosmic-ray.filters.operators-filter]", f"exclude-operators = {json.dumps(EXCLUDE)}", ""])


def tool(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


def baseline(tests: list[str]) -> float:
    """Seconds the module's tests take on the unmutated code; they must pass, or no mutant means anything."""
    started = time.monotonic()
    proc = subprocess.run([sys.executable, *PYTEST, *tests], cwd=ROOT, capture_output=True, text=True)
    if proc.returncode:
        sys.exit(f"mutation: the tests fail on the unmutated code:\n{proc.stdout[-3000:]}")
    return time.monotonic() - started


def execute(cfg: Path, session: Path, desc: str) -> None:
    """`cosmic-ray exec` on the pending mutants of one session, with a progress bar read from its database."""
    from cosmic_ray.work_db import WorkDB, use_db
    from tqdm import tqdm

    with use_db(str(session), WorkDB.Mode.open) as db:
        total, done = db.num_work_items, db.num_results
    with tqdm(total=total, initial=done, desc=desc, file=sys.stderr, dynamic_ncols=True) as bar:
        proc = subprocess.Popen([tool("cosmic-ray"), "exec", str(cfg), str(session)], cwd=ROOT)
        while True:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
            with use_db(str(session), WorkDB.Mode.open) as db:
                bar.update(db.num_results - bar.n)
            if proc.returncode is not None:
                break
    if proc.returncode:
        sys.exit(f"mutation: cosmic-ray exec failed on {desc} (exit {proc.returncode})")


def mutant_side(diff: str | None) -> str:
    """The mutant's side of a cosmic-ray diff's hunk: the lines it adds with their context lines."""
    lines = (diff or "").splitlines()
    hunk = next((i for i, d in enumerate(lines) if d.startswith("@@")), len(lines))
    return "\n".join(d[1:] for d in lines[hunk + 1:] if d[:1] in ("+", " "))


def equivalent_reason(path: str, operator: str, line: int, mutant: str = "") -> str | None:
    """Why the mutant is named equivalent, or None. An EQUIVALENT entry matches by file, operator and
    a snippet of the original line; one with a fifth element also needs it in the mutant's side of
    the diff (`mutant`, its lines with their context), for when only some replacements on a line, or
    only one of several lines alike, are equivalent."""
    text = (ROOT / path).read_text().splitlines()[line - 1]
    return next((entry[3] for entry in EQUIVALENT if entry[:2] == (path, operator) and entry[2] in text
                 and (len(entry) < 5 or entry[4] in mutant)), None)


def item_equivalence(item, result) -> str | None:
    """Why a cosmic-ray work item's mutant (with its result, which holds the diff) is equivalent, or None."""
    m = item.mutations[0]
    return equivalent_reason(str(m.module_path), m.operator_name.removeprefix("core/"), m.start_pos[0],
                             mutant_side(result.diff))


def results(session: Path) -> dict:
    """Per session: mutants run, killed, survivors and equivalent ones as `file:line operator#n` (filtered left out)."""
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import TestOutcome, WorkerOutcome

    out = {"mutants": 0, "killed": 0, "survivors": [], "equivalent": []}
    with use_db(str(session), WorkDB.Mode.open) as db:
        for item, result in db.completed_work_items:
            if result.worker_outcome == WorkerOutcome.SKIPPED:
                continue
            m = item.mutations[0]
            op = m.operator_name.removeprefix("core/")
            name = f"{m.module_path}:{m.start_pos[0]} {op}#{m.occurrence}"
            out["mutants"] += 1
            if result.test_outcome != TestOutcome.SURVIVED:  # killed, timed out, or would not even import
                out["killed"] += 1
            elif why := item_equivalence(item, result):
                out["equivalent"].append(f"{name}: {why}")
            else:
                out["survivors"].append(name)
    return out


def digest(paths: list[str]) -> str:
    """One hash of these files' contents (a test id names its file before `::`)."""
    h = hashlib.sha256()
    for p in sorted({p.split("::")[0] for p in paths}):
        h.update(p.encode() + b"\0" + (ROOT / p).read_bytes() + b"\0")
    return h.hexdigest()[:16]


def tests_digest() -> str:
    return digest([str(p.relative_to(ROOT)) for p in sorted((ROOT / "tests").glob("*.py"))])


def forget_survivors(session: Path) -> int:
    """Drop the results of surviving mutants so that the next exec runs them again; how many.
    Survivors named in EQUIVALENT keep their result: no test can kill them, so they are not rerun."""
    from cosmic_ray.work_db import WorkDB, WorkResultStorage, use_db
    from cosmic_ray.work_item import TestOutcome

    with use_db(str(session), WorkDB.Mode.open) as db:
        again = [item.job_id for item, result in db.completed_work_items
                 if result.test_outcome == TestOutcome.SURVIVED and not item_equivalence(item, result)]
        with db._session_maker.begin() as s:
            return s.query(WorkResultStorage).filter(WorkResultStorage.job_id.in_(again)).delete()


def sample_session(session: Path, keep: int, seed: int = 0) -> tuple[int, int]:
    """Leave `keep` of the session's pending mutants, drawn at random (seeded), and mark the others
    skipped, so that a module too costly to run whole is measured on a sample; (kept, of how many)."""
    import random

    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import WorkerOutcome, WorkResult

    with use_db(str(session), WorkDB.Mode.open) as db:
        # drawn from the mutants in a stable order (job ids are random per init), so a sample is repeatable
        items = sorted(db.pending_work_items, key=lambda i: (str(i.mutations[0].module_path),
                                                            tuple(i.mutations[0].start_pos),
                                                            i.mutations[0].operator_name, i.mutations[0].occurrence))
        pending = [i.job_id for i in items]
        drop = set(pending) - set(random.Random(seed).sample(pending, min(keep, len(pending))))
        for job in sorted(drop):
            db.set_result(job, WorkResult(worker_outcome=WorkerOutcome.SKIPPED, output="sampled out"))
    return len(pending) - len(drop), len(pending)


def run_module(path: str, tests: list[str], work: Path, factor: float, floor: float, retest: bool = False,
               lines: dict[str, list[str]] | None = None, sample: int | None = None) -> dict:
    """Init (or resume) the module's session, run its pending mutants, and return its results.

    A module whose source or tests changed starts over; with `retest`, a module whose tests alone
    changed keeps its killed mutants and runs its survivors again (for tests that were only added).
    With `lines` (line -> tests that execute it), each mutant runs only the tests on its lines.
    With `sample`, a new session keeps that many of its mutants, drawn at random."""
    slug = path.replace("/", "__").removesuffix(".py")
    cfg, session, meta = work / f"{slug}.toml", work / f"{slug}.sqlite", work / f"{slug}.json"
    spec = None
    if lines is not None:
        spec, pristine = work / f"{slug}.select.json", work / f"{slug}.pristine.py"
        shutil.copyfile(ROOT / path, pristine)
        spec.write_text(json.dumps({"module": path, "pristine": str(pristine), "tests": tests, "lines": lines}))
    if not tests:
        print(f"mutation: no test exercises {path}; every mutant counts as a survivor", file=sys.stderr)
        tests = ["--co", "-q", "tests/test_packaging.py"]  # collects, runs nothing, passes
    info = json.loads(meta.read_text()) if meta.exists() else {}
    source, suite = digest([path]), digest([t for t in tests if not t.startswith("-")])
    if info.get("source") != source or not session.exists():
        info = {"source": source, "exec_s": 0.0}
        session.unlink(missing_ok=True)
    if info.get("tests") != tests or info.get("suite") != suite:
        # a retest keeps the baseline it had (tests were only added: the timeout's factor covers them)
        kept = info.get("baseline_s") if retest and session.exists() else None
        info.update(tests=tests, suite=suite, baseline_s=kept if kept is not None else round(baseline(tests), 1))
        if session.exists() and retest:
            print(f"mutation: {path}: {forget_survivors(session)} survivors to run again", file=sys.stderr)
        elif session.exists():
            session.unlink()
    cfg.write_text(config(path, tests, max(floor, factor * info["baseline_s"]), spec))
    if not session.exists():
        subprocess.run([tool("cosmic-ray"), "init", str(cfg), str(session)], cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL)
        subprocess.run([tool("cr-filter-operators"), str(session), str(cfg)], cwd=ROOT, check=True)
        info.pop("sampled", None)
        if sample is not None:
            info["sampled"] = sample_session(session, sample)
    meta.write_text(json.dumps(info))
    started = time.monotonic()
    execute(cfg, session, path)
    info["exec_s"] = round(info["exec_s"] + time.monotonic() - started, 1)
    meta.write_text(json.dumps(info))
    res = results(session)
    return res | {"seconds": info["exec_s"], "baseline_s": info["baseline_s"], "tests": len(tests),
                  "sampled": info.get("sampled")}


def hold_lock(work: Path):
    """An exclusive lock on `work`: two runs in one worktree would mutate its files under each other
    (one reads a file the other has mutated as a changed source, and drops its session)."""
    import fcntl

    handle = open(work / ".lock", "w")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        sys.exit(f"mutation: another run holds {work / '.lock'}; stop it (Ctrl-C) before starting one")
    return handle


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("paths", nargs="*", default=SCOPE, help="files or folders to mutate (default: the scope)")
    ap.add_argument("--tests", nargs="+", help="one fixed set of test paths for every module (default: the map)")
    ap.add_argument("--work", type=Path, default=ROOT / ".mutation", help="sessions and test map (resumable)")
    ap.add_argument("--fresh", action="store_true", help="start over: drop earlier sessions and the test map")
    ap.add_argument("--report", action="store_true", help="only summarise the sessions already run (runs nothing)")
    ap.add_argument("--retest-survivors", action="store_true",
                    help="where only tests changed (added), keep the killed mutants and run the survivors again")
    ap.add_argument("--sample", action="append", default=[], metavar="MODULE=N",
                    help="run a random N of MODULE's mutants (a module too costly to run whole), e.g."
                         " validators/minhash_jit.py=150, or 0 for all of them; applies when its session starts"
                         f" (default: {', '.join(f'{m}={n}' for m, n in SAMPLED.items())})")
    ap.add_argument("--full-lists", action="store_true",
                    help="run every mutant on its module's whole test list, not only the tests on its lines")
    ap.add_argument("--factor", type=float, default=3.0, help="timeout = this x the tests' baseline time")
    ap.add_argument("--max-test-seconds", type=float, default=30.0,
                    help="tests slower than this in the coverage run are left out of the map")
    ap.add_argument("--min-timeout", type=float, default=30.0, help="seconds: the timeout's floor")
    args = ap.parse_args(argv)
    if args.fresh and not args.report:
        shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True, exist_ok=True)
    if not args.report:
        lock = hold_lock(args.work)  # noqa: F841 (held until the process ends)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    started, mods = time.monotonic(), modules(args.paths)
    if args.report:
        return report(mods, args.work, started)
    line_map = None
    if args.tests:
        test_map = {m: args.tests for m in mods}
    else:
        map_file = args.work / "testmap.json"
        collected = json.loads(map_file.read_text()) if map_file.exists() else {}
        if not set(mods) <= set(collected.get("modules", {})) or collected.get("tests_digest") != tests_digest() \
                or "lines" not in collected:
            collect_map(sorted(set(modules(SCOPE + args.paths))), map_file)  # new or changed tests: map again
            map_file.write_text(json.dumps({**json.loads(map_file.read_text()), "tests_digest": tests_digest()}))
        collected = json.loads(map_file.read_text())
        test_map = without_slow(collected, args.max_test_seconds)
        line_map = None if args.full_lists else collected["lines"]
    samples = sample_sizes(args.sample)
    per = {m: run_module(m, test_map[m], args.work, args.factor, args.min_timeout, args.retest_survivors,
                         None if args.tests or line_map is None else line_map.get(m, {}), samples.get(m))
           for m in mods}
    return summary(args.paths, per, started)


def sample_sizes(given: list[str]) -> dict[str, int]:
    """Module -> how many of its mutants to run: SAMPLED, then `--sample MODULE=N` (0: all of them)."""
    sizes = dict(SAMPLED)
    for arg in given:
        module, _, n = arg.rpartition("=")
        if not module or not n.isdigit():
            sys.exit(f"mutation: --sample {arg!r}: expected MODULE=N, e.g. validators/minhash_jit.py=30")
        sizes[module] = int(n)
    return {m: n for m, n in sizes.items() if n}


def report(mods: list[str], work: Path, started: float) -> int:
    """The summary of the sessions already in `work`, running nothing (modules without one left out)."""
    per = {}
    for m in mods:
        slug = m.replace("/", "__").removesuffix(".py")
        session, meta = work / f"{slug}.sqlite", work / f"{slug}.json"
        if session.exists() and meta.exists():
            info = json.loads(meta.read_text())
            per[m] = results(session) | {"seconds": info["exec_s"], "baseline_s": info["baseline_s"],
                                         "tests": len(info["tests"]), "sampled": info.get("sampled")}
    return summary(list(per), per, started)


def summary(scope: list[str], per: dict[str, dict], started: float) -> int:
    """Per module and in all: killed, survivors, equivalent mutants; the last line one JSON object."""
    for m, r in per.items():
        rate = r["mutants"] / r["seconds"] if r["seconds"] else 0.0
        sampled = f" (a random sample of {r['sampled'][1]})" if r.get("sampled") else ""
        print(f"{m}: {r['killed']}/{r['mutants']} killed{sampled}, {len(r['equivalent'])} equivalent, "
              f"{r['tests']} tests, {r['seconds']:.0f} s ({rate:.2f} mutants/s)")
    survivors = [s for r in per.values() for s in r["survivors"]]
    equivalent = [s for r in per.values() for s in r["equivalent"]]
    print("survivors:" if survivors else "no survivors", *survivors, sep="\n  ")
    print("equivalent (not counted as killed):" if equivalent else "no equivalent mutants", *equivalent, sep="\n  ")
    n, k = sum(r["mutants"] for r in per.values()), sum(r["killed"] for r in per.values())
    wall = time.monotonic() - started
    print(f"{k}/{n} mutants killed in {wall:.0f} s this run ({sum(r['seconds'] for r in per.values()):.0f} s "
          "of mutant runs over all resumed sessions)")
    print(json.dumps({"scope": scope, "mutants": n, "killed": k, "score": round(k / n, 4) if n else None,
                      "score_without_equivalent": round(k / (n - len(equivalent)), 4) if n > len(equivalent) else None,
                      "survivors": survivors, "equivalent": equivalent,
                      "sampled": {m: f"{r['sampled'][0]} of {r['sampled'][1]}"
                                  for m, r in per.items() if r.get("sampled")},
                      "seconds": round(sum(r["seconds"] for r in per.values()))}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
