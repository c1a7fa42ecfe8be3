"""Tool calls, output-first: tools read beside the seeds, calls drawn in the seeds' proportions and valid
under their tools, requests kept only when they state every argument, rows checked the same way, and
the call metrics (exact match, tool names, argument F1, execution on the bundled calendar API)."""

from __future__ import annotations

import json
import random
from collections import Counter
from datetime import date

import pytest
from factories import make_env, make_example

from seedfactory.generators import tool_calls
from seedfactory.generators.fake import FakeBackend
from seedfactory.generators.plan import Env, Plan
from seedfactory.generators.strategies import choose
from seedfactory.schemas import RejectLog, SeedFileError, load_config, load_seeds
from seedfactory.schemas.config import GenerateConfig, ModelConfig
from seedfactory.schemas.tools import call_errors, calls_schema, load_tools, tools_next_to, tools_of
from seedfactory.seeds import SEEDS_DIR, bundled_sets, tool_implementation
from seedfactory.seeds.calendar_tools import execute
from seedfactory.seedset import read_seed_set
from seedfactory.train.calls import score_calls
from seedfactory.validators.calls import call_kinds, calls_grounded
from seedfactory.validators.filters import parse_and_filter

TOOLS = load_tools(SEEDS_DIR / "calendar-tools.tools.json")
SCHEMA = calls_schema(TOOLS)
SEEDS = load_seeds(bundled_sets()["calendar-tools"], SCHEMA)


def _call(name, **arguments):
    return {"name": name, "arguments": arguments}


def test_the_tools_file_makes_the_output_schema(tmp_path):
    seed_set = read_seed_set(load_config(None, ["seeds.path=calendar-tools"]))
    assert tools_of(seed_set.schema) == TOOLS and seed_set.schema_file == SEEDS_DIR / "calendar-tools.tools.json"
    assert choose(seed_set.seeds, seed_set.schema, "auto") == {"tool_calls": 1.0}
    # a seed calling a tool with an argument its schema refuses: file, line and the argument
    path = tmp_path / "cal.jsonl"
    lines = [SEEDS[0].model_dump(exclude={"source", "history"}),
             {"id": "bad", "instruction": "Call.", "input": "Move EV-12 to May.",
              "output": {"tool_calls": [_call("move_event", event_id="EV-12", new_date="2027-05-01")]}}]
    path.write_text("".join(json.dumps(r) + "\n" for r in lines))
    (tmp_path / "cal.tools.json").write_text((SEEDS_DIR / "calendar-tools.tools.json").read_text())
    assert tools_next_to(path) == tmp_path / "cal.tools.json"
    with pytest.raises(SeedFileError, match=r"cal.jsonl:2: field 'output.tool_calls.0.arguments.event_id': 'EV-12' "
                                            r"does not match"):
        read_seed_set(load_config(None, [f"seeds.path={path}"]))
    (tmp_path / "cal.tools.json").write_text('[{"type": "function", "function": {"parameters": {}}}]')
    with pytest.raises(SeedFileError, match=r"cal.tools.json: tool 0: field 'function.name'"):
        read_seed_set(load_config(None, [f"seeds.path={path}"]))


def test_drawn_calls_are_valid_and_in_the_seeds_proportions():
    drawer = tool_calls.CallDrawer(TOOLS, SEEDS)
    rng = random.Random(0)
    drawn = [drawer.draw(rng) for _ in range(400)]
    seed_sizes = Counter(len(s.output["tool_calls"]) for s in SEEDS)
    sizes = Counter(len(d) for d in drawn)
    for n, count in seed_sizes.items():  # 2/16 no-call and 3/16 two-call seeds: the same shares, within noise
        assert abs(sizes[n] / 400 - count / len(SEEDS)) < 0.06, (n, sizes)
    assert set(sizes) == set(seed_sizes)
    calls = [c for d in drawn for c in d]
    assert {c["name"] for c in calls} == {t["name"] for t in TOOLS}
    assert all(call_errors({"tool_calls": d}, TOOLS) == [] for d in drawn)
    for c in calls:  # values of their kinds, not only of the schema: real days, ids in the seeds' shape
        for key in ("date", "new_date"):
            if key in c["arguments"]:
                date.fromisoformat(c["arguments"][key])
        if "event_id" in c["arguments"]:
            assert c["arguments"]["event_id"][:3] == "EV-"
    seed_titles = {c["arguments"]["title"] for s in SEEDS for c in s.output["tool_calls"] if "title" in c["arguments"]}
    created = [c["arguments"] for c in calls if c["name"] == "create_event"]
    assert len({a["date"] for a in created}) > len(created) // 2, "dates are drawn, not copied from the seeds"
    assert {a["title"] for a in created} & seed_titles  # titles come from the seeds' own, recombined


def test_requests_are_written_for_the_calls_and_must_state_every_value():
    env = Env(FakeBackend().generate, ModelConfig(), GenerateConfig(num_tasks=20), 0, RejectLog("generate"), SCHEMA)
    tasks = tool_calls.write_tasks(SEEDS, Plan("tool_calls", 20), env)
    assert tasks and all(t.strategy == "tool_calls" and t.instruction in {s.instruction for s in SEEDS} for t in tasks)
    for t in tasks:
        for c in t.target["tool_calls"]:
            for v in c["arguments"].values():
                assert all(str(x) in t.input for x in (v if isinstance(v, list) else [v])), (t.input, c)
    # the fake writes "45" for a duration, not "45 minutes": those requests leave, naming the argument
    dropped = [r for r in env.rejects.records if r.reason == "ungrounded"]
    assert dropped and all("create_event.duration_minutes=" in r.detail for r in dropped)
    assert len(tasks) + len(env.rejects.records) == 20

    def forgetful(req):  # a teacher that leaves the event id out of every request
        return "Please move it somewhere else." if req.purpose == "call_request" else "{}"
    env = Env(FakeBackend(forgetful).generate, ModelConfig(), GenerateConfig(num_tasks=6), 0, RejectLog("g"), SCHEMA)
    kept = tool_calls.write_tasks(SEEDS, Plan("tool_calls", 6), env)
    assert all(t.target["tool_calls"] == [] for t in kept)  # only a no-call target has nothing to state
    assert {r.reason for r in env.rejects.records} == {"ungrounded"}


def test_rows_whose_calls_are_invalid_or_unstated_leave_with_the_reason():
    said = make_example("a", "Call.", input="Cancel EV-1042 please.",
                        output={"tool_calls": [_call("cancel_event", event_id="EV-1042")]})
    unstated = make_example("b", "Call.", input="Cancel my next meeting.",
                            output={"tool_calls": [_call("cancel_event", event_id="EV-1042")]})
    invalid = make_example("c", "Call.", input="Cancel EV-42.", output={"tool_calls": [_call("cancel_event",
                                                                                             event_id="EV-42")]})
    unknown = make_example("d", "Call.", input="Book a taxi at 9.", output={"tool_calls": [_call("book_taxi")]})
    spoken = make_example("e", "Call.", input="Move EV-1017 to June 3rd 2027 at half past four in the "
                          "afternoon.", output={"tool_calls": [_call("move_event", event_id="EV-1017",
                                                                     new_date="2027-06-03", new_time="16:30")]})
    env = make_env(train_seeds=SEEDS, output_schema=SCHEMA)
    kept = list(parse_and_filter([said, unstated, invalid, unknown, spoken], env))
    assert [r.id for r in kept] == ["a", "e"]
    reasons = {r.row_id: (r.reason, r.detail) for r in env.reject.records}
    assert reasons["b"] == ("ungrounded_call", "the request does not state cancel_event.event_id='EV-1042'")
    assert reasons["c"][0] == "schema_invalid"  # the schema check comes first and names the path
    assert reasons["d"][0] == "schema_invalid"
    assert calls_grounded(unknown, tools=TOOLS, kinds={})[1:] == (
        "call_invalid", "call 0: unknown tool 'book_taxi' (tools: create_event, list_events, cancel_event, "
        "move_event, set_reminder)")


def test_call_metrics():
    ref = [_call("create_event", title="Budget review", date="2027-04-02", start_time="14:00",
                 attendees=["ana@x.example", "tom@y.example"]), _call("list_events", date="2027-04-02")]
    answers = [
        json.dumps({"tool_calls": list(reversed(ref))}),  # the same calls in another order: exact
        'Sure! {"tool_calls": [{"name": "create_event", "arguments": {"title": "budget review ", "date": '
        '"2027-04-02", "start_time": "14:00", "attendees": ["ana@x.example", "tom@y.example"]}}]}',  # one call missing
        json.dumps({"tool_calls": [_call("create_event", title="Budget review", date="2027-04-02", start_time="14:00",
                                         attendees=["tom@y.example", "ana@x.example"]),
                                   _call("list_events", date="2027-04-02")]}),  # attendees in another order
        "I can't help with that.",
        json.dumps({"tool_calls": [{"type": "function", "function": {"name": "list_events",
                                                                      "arguments": '{"date": "2027-04-03"}'}},
                                   _call("create_event", title="Budget review", date="2027-04-02",
                                         start_time="14:00", attendees=["ana@x.example", "tom@y.example"])]}),
    ]
    report = score_calls(answers, [{"tool_calls": ref}] * 5, TOOLS, execute)
    per = report["per_example"]
    assert [p["exact_call_match"] for p in per] == [1.0, 0.0, 0.0, 0.0, 0.0]
    assert [p["tool_name_accuracy"] for p in per] == [1.0, 0.0, 1.0, 0.0, 1.0]
    # reference triples: title, date, start_time, attendees, list date = 5
    assert per[1]["argument_f1"] == pytest.approx(2 * 1 * 0.8 / 1.8)  # 4 of 4 right, 4 of 5 found
    assert per[2]["argument_f1"] == pytest.approx(2 * 0.8 * 0.8 / 1.6)  # the attendees list differs
    assert per[4]["argument_f1"] == pytest.approx(0.8)
    # execution: the API sorts attendees, so the reordered list gives the same results
    assert [p["execution_match"] for p in per] == [1.0, 0.0, 1.0, 0.0, 0.0]
    assert report["value"] == pytest.approx(0.2) and report["execution_match"] == pytest.approx(0.4)
    assert report["parsed"] == pytest.approx(0.8) and report["metric"] == "exact_call_match"
    none = score_calls(['{"tool_calls": []}', json.dumps({"tool_calls": [_call("list_events", date="2027-04-02")]})],
                       [{"tool_calls": []}] * 2, TOOLS)
    assert [p["exact_call_match"] for p in none["per_example"]] == [1.0, 0.0]
    assert [p["argument_f1"] for p in none["per_example"]] == [1.0, 0.0]


def test_the_bundled_calendar_runs_calls_on_a_fresh_state():
    assert tool_implementation(bundled_sets()["calendar-tools"]) is execute
    assert tool_implementation(bundled_sets()["invoice-fields"]) is None
    out = execute([_call("cancel_event", event_id="EV-1042"), _call("list_events", date="2027-04-12"),
                   _call("cancel_event", event_id="EV-1042")])
    assert out[0] == {"cancelled": "EV-1042"} and out[1] == [] and out[2] == {"error": "no event EV-1042"}
    assert [e["id"] for e in execute([_call("list_events", date="2027-04-12")])[0]] == ["EV-1042"]  # fresh again
    moved = execute([_call("move_event", event_id="EV-1001", new_date="2027-05-01", new_time="16:30")])[0]
    assert (moved["date"], moved["start_time"]) == ("2027-05-01", "16:30")
    assert execute([_call("nope")]) == [{"error": "no tool 'nope'"}]


def test_a_fake_run_publishes_grounded_valid_calls(published_run):
    from datasets import load_from_disk

    run = published_run("seeds.path=calendar-tools", "generate.num_tasks=16")
    rows = load_from_disk(str(run / "dataset"))["sft"]
    assert len(rows) > 0
    for r in rows:
        out = json.loads(r["output"])
        assert call_errors(out, TOOLS) == []
        ex = make_example("x", r["instruction"], input=r["input"], output=out)
        assert calls_grounded(ex, tools=TOOLS, kinds=call_kinds(TOOLS, SEEDS)) is True
    lines = (run / "validate" / "rejects.jsonl").read_text().splitlines()
    rejects = Counter(json.loads(line)["reason"] for line in lines)
    assert rejects["schema_invalid"] + rejects["call_invalid"] > 0  # the fake's random answers leave


def test_evaluation_scores_a_tool_set_with_the_call_metrics():
    """The evaluate stage's scorer picks the call metrics for a tool set, with the bundled implementation."""
    from types import SimpleNamespace

    from seedfactory.evaluation import _per_case, _score

    path = bundled_sets()["calendar-tools"]
    cases = load_seeds(SEEDS_DIR / "calendar-tools.eval.jsonl", SCHEMA)[:3]
    ctx = SimpleNamespace(output_schema=SCHEMA, seed_set=SimpleNamespace(path=path))
    right = [json.dumps(c.output) for c in cases]
    scores, requests = _score(ctx, cases, {"sft": right, "base": ["I don't know."] * 3})
    assert requests == {} and scores["sft"]["metric"] == "exact_call_match"
    assert (scores["sft"]["value"], scores["sft"]["execution_match"], scores["sft"]["argument_f1"]) == (1.0, 1.0, 1.0)
    assert scores["base"]["value"] == 0.0 and scores["base"]["parsed"] == 0.0
    assert _per_case(scores["sft"]) == [1.0] * 3 and _per_case(scores["base"]) == [0.0] * 3
