"""document_qa (generators/document_qa.py): the support check on numbers, names and content words,
questions per chunk with unsupported answers dropped, closed-book questions marked (fakes, no model)."""

import json

from bench.document_qa import main as bench_main
from seedfactory.generators import document_qa as dq
from seedfactory.generators.fake import FakeBackend
from seedfactory.generators.plan import Env, Plan
from seedfactory.generators.pool import PoolItem
from seedfactory.schemas import RejectLog, SeedExample
from seedfactory.schemas.config import GenerateConfig, ModelConfig
from tests.factories import make_example

CHUNK = "Blood tests are taken between 7:30 am and 11 am at Harbourside, because many of them need fasting."


def test_the_support_check():
    assert dq.unsupported("Blood tests are taken between 7:30 am and 11 am.", CHUNK, 0.5) is None
    assert dq.unsupported("Blood tests are taken until 2 pm.", CHUNK, 0.5) == "numbers not in the source: 2"
    assert dq.unsupported("They are taken at Harbourside by Doctor Okafor.", CHUNK, 0.5) == \
        "names not in the source: Doctor, Okafor"
    why = dq.unsupported("Bring photo identification and insurance papers.", CHUNK, 0.5)
    assert why.startswith("0.00 of its content words in the source < 0.50")


def test_the_threshold_comes_from_the_seeds():
    seeds = [SeedExample(id="a", instruction="When?", input="The shop opens at nine on weekdays.",
                         output="It opens at nine on weekdays."),  # overlap 1.0
             SeedExample(id="b", instruction="Why?", input="Closed for stocktaking all Monday.",
                         output="Because of stocktaking, said the owner.")]  # 1 of 3 content words: 0.33
    assert dq.support_threshold(seeds) == 0.3  # 0.33 - 0.15, floored at 0.3
    assert dq.support_threshold([SeedExample(id="c", instruction="Say hi", output="hi")]) == 0.5


def responder(req):
    if req.purpose == "qa":
        chunk = req.messages[-1].content.split("\n\n")[0]
        if "Blood" in chunk:
            return json.dumps({"question": "When are blood tests taken?", "answer": "Between 7:30 am and 11 am."})
        return json.dumps({"question": "How much is parking?", "answer": "Parking costs 5 pounds an hour."})
    if req.purpose == "closed_book":
        return "Between 7:30 am and 11 am, usually."
    return "Between 7:30 am and 11 am."


def test_questions_per_chunk_unsupported_answers_leave_and_closed_book_ones_are_marked():
    pool = [PoolItem(id="p0", text=CHUNK, file="docs/a.md", start=0, end=len(CHUNK)),
            PoolItem(id="p1", text="Parking: 40 spaces behind the building, free for 2 hours.", file="docs/b.txt")]
    seeds = [SeedExample(id="s", instruction="When does the shop open?", output="At nine.")]
    env = Env(FakeBackend(responder).generate, ModelConfig(), GenerateConfig(), 0, RejectLog("generate"), pool=pool)
    drafts = dq.write_tasks(seeds, Plan("document_qa", 5), env)
    assert [(d.instruction, d.input) for d in drafts] == [("When are blood tests taken?", CHUNK)]
    assert drafts[0].source == {"file": "docs/a.md", "start": 0, "end": len(CHUNK), "pool_id": "p0",
                                "answerable_without_source": True}
    (gone,) = env.rejects.records
    assert gone.reason == "unsupported_by_source" and gone.detail.startswith("numbers not in the source: 5")
    assert env.notes["document_qa"] == {"threshold": 0.5, "questions": 2, "kept": 1, "answerable_without_source": 1}


def test_sampled_answers_their_chunk_does_not_support_leave():
    ok = make_example(id="a", input=CHUNK, output="Between 7:30 am and 11 am.", strategy="document_qa")
    bad = make_example(id="b", input=CHUNK, output="Between 9 am and noon.", strategy="document_qa")
    other = make_example(id="c", input=CHUNK, output="Anything at all, 99.", strategy="self_instruct")
    reject = RejectLog()
    assert [r.id for r in dq.drop_unsupported([ok, bad, other], [], reject)] == ["a", "c"]
    assert reject.records[0].row_id == "b" and reject.records[0].reason == "unsupported_by_source"
    (closed, kept_other) = dq.drop_unsupported([ok, other], [], RejectLog(), with_context=False)
    assert closed.input == "" and closed.prompt == ok.instruction and closed.lineage.source == {"chunk": CHUNK}
    assert kept_other.input == CHUNK  # other strategies' rows are left as they are


def test_bench_catches_the_planted_answers(capsys):
    out = bench_main([])
    assert out["caught_share"] >= 0.9 and out["false_alarm_share"] <= 0.1 and out["planted"] >= 20
