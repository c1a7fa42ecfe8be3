"""Self-Instruct's growing pool with the ROUGE-L novelty test, Evol-Instruct's rewrites and its
elimination checks, and a strategy mix whose rows all name their strategy (fakes, no model)."""

import json

from seedfactory.cli import main
from seedfactory.generators import evol_instruct as evol
from seedfactory.generators import self_instruct as si
from seedfactory.generators.fake import FakeBackend
from seedfactory.generators.novelty import rouge_l
from seedfactory.schemas import RejectLog, SeedExample
from seedfactory.schemas.config import GenerateConfig, ModelConfig
from seedfactory.util.files import read_json, read_jsonl_dicts
from tests.factories import make_example

SEEDS = [SeedExample(id=f"s{i}", instruction=f"Summarise the note about {w}", input=f"A note on {w} and more {w}.",
                     output="short", topic=t)
         for i, (w, t) in enumerate([("tea", "food"), ("rain", "weather"), ("bread", "food"), ("snow", "weather")])]


def test_rouge_l():
    assert rouge_l("extract the total", "extract the total") == 1.0
    assert rouge_l("alpha beta", "gamma delta") == 0.0
    assert round(rouge_l("extract the total", "extract the total amount"), 3) == 0.857  # lcs 3, p 3/4, r 1
    assert rouge_l("", "x") == 0.0


def task(instruction, text):
    return json.dumps({"instruction": instruction, "input": text})


def test_self_instruct_pool_grows_and_rejects_tasks_too_close_to_it():
    replies = {  # round 1 (2 tasks), round 2 (2 tasks): one new, one a near copy of round 1's first
        0: task("Write a haiku about the harbour at dawn", "Harbour, dawn, gulls, fog"),
        1: task("List three uses for copper wire", "Copper wire in a workshop"),
        2: task("Write a haiku about the harbour at dusk", "Harbour, dawn, gulls, fog"),
        3: task("Translate the sentence into French", "The train leaves at nine"),
    }
    calls = []

    def responder(req):
        calls.append(req)
        return replies[len(calls) - 1]

    cfg = GenerateConfig(num_tasks=4, shots=4, pool_round=2, novelty_threshold=0.7)
    rejects = RejectLog("generate")
    drafts = si.grow_tasks(SEEDS, lambda reqs: FakeBackend(responder=responder).generate(reqs), ModelConfig(),
                           cfg, 0, rejects)
    assert [d.instruction for d in drafts] == ["Write a haiku about the harbour at dawn",
                                               "List three uses for copper wire", "Translate the sentence into French"]
    [r] = rejects.records
    assert r.reason == "not_novel" and r.dup_of == drafts[0].prompt_id and r.similarity >= 0.7
    # round 2's prompts show one accepted machine task among the shots; round 1's show none
    round1 = " ".join(m.content for q in calls[:2] for m in q.messages)
    round2 = [" ".join(m.content for m in q.messages) for q in calls[2:]]
    assert "harbour" not in round1 and "copper" not in round1
    assert all(("harbour at dawn" in t) or ("copper wire" in t) for t in round2)


def test_evol_instruct_rewrites_cycle_operations_and_eliminate_per_the_paper():
    def responder(req):
        base = req.messages[1].content
        given = base.split("Instruction: ")[1].split("\n")[0]
        op = req.purpose.split(":")[1]
        if op == "deepen":  # no information gain: the base, unchanged
            inp = base.split("Input: ")[1].split("\n")[0]
            return task(given, inp)
        if op == "concretize":
            return task("Rewrite #The Given Prompt# with more detail", "x")
        return task(f"{op} variant: explain in steps why {op} matters for pastry", f"case {op} {len(base)}")

    cfg = GenerateConfig(num_tasks=5, pool_round=5, novelty_threshold=0.7)
    rejects = RejectLog("generate")
    drafts = evol.evolve_tasks(SEEDS, FakeBackend(responder=responder).generate, ModelConfig(), cfg, 0, rejects)
    assert sorted(d.strategy for d in drafts) == sorted(f"evol_instruct:{op}" for op in
                                                        ("add_constraints", "reasoning", "breadth"))
    assert sorted(r.reason for r in rejects.records) == ["evol_copied_prompt", "evol_no_gain"]
    assert all(set(d.seed_ids) <= {s.id for s in SEEDS} for d in drafts)  # lineage reaches a seed
    # in-breadth rewrites are asked about each seed topic in turn
    reqs = evol.evolve_requests(SEEDS, ["food", "weather"], ModelConfig(), GenerateConfig(num_tasks=10), 0, 0, {})
    assert ["about food" in r.messages[0].content for r, _, op in reqs if op == "breadth"] == [True, False]


def test_evol_answer_checks_drop_apologies_and_empty_answers_only_for_evolved_rows():
    def row(i, output, strategy):
        return make_example(f"e{i}", output=output, strategy=strategy)

    rows = [row(0, "Sorry, I cannot do that.", "evol_instruct:deepen"),
            row(1, "the and of , .", "evol_instruct:breadth"),
            row(2, "Sorry, I cannot do that.", "self_instruct"),
            row(3, "Bake it at 200 C.", "evol_instruct:reasoning")]
    rejects = RejectLog("generate")
    kept = evol.eliminate_responses(rows, rejects)
    assert [r.id for r in kept] == [rows[2].id, rows[3].id]
    assert [r.reason for r in rejects.records] == ["evol_unanswerable", "evol_empty_response"]


def test_a_strategy_mix_names_each_rows_strategy(tmp_path, fake_run):
    out = tmp_path / "run"
    args = fake_run("seeds.path=support-bikeshop", "generate.num_tasks=10", "generate.pool_round=4",
                    "generate.strategy={self_instruct: 0.6, evol_instruct: 0.4}")
    assert main(["run", "--out", str(out), "--until", "generate", "--no-progress", *args]) == 0
    g = read_json(out / "stats.json")["stages"]["generate"]
    assert g["strategy"] == {"self_instruct": 0.6, "evol_instruct": 0.4}
    rows = read_jsonl_dicts(out / "generate" / "candidates.jsonl")
    names = {r["lineage"]["strategy"].split(":")[0] for r in rows}
    assert names == {"self_instruct", "evol_instruct"}
    assert sum(g["rows_by_strategy"].values()) == len(rows)
    assert sum(v for k, v in g["tasks_by_strategy"].items() if k.startswith("evol_instruct")) <= 4
