"""Verdicts flowing back through the pipeline (fake teacher and judge, hash embedder): the training
gate, agreement in stats.json and the dataset card, review pairs, and the `seedfactory review` CLI."""

import json
import os
import signal
import subprocess
import sys

import httpx
import pytest

from seedfactory.cli import main
from seedfactory.pipeline import run
from seedfactory.review import ReviewGateError, ReviewStore
from seedfactory.schemas import load_config
from seedfactory.util.files import read_json, read_jsonl_dicts

QUEUED = "review.sample_size=8"  # with fake_run (conftest.py): 8 rows in the review queue



@pytest.fixture(scope="module")
def reviewed(published_run, fake_run):
    """A run to publish with 8 queued rows: 5 rejected, 2 approved, 1 edited; two reviewers on 2 rows."""
    out = published_run(QUEUED)
    with ReviewStore(out / "review" / "queue.sqlite", overlap=1.0) as store:
        items = store.items()
        for item in items[:5]:
            store.decide(item.id, "rejected", reviewer="ana", reason="wrong")
        for item in items[5:7]:
            store.decide(item.id, "accepted", reviewer="ana")
        store.decide(items[5].id, "accepted", reviewer="ben")
        store.decide(items[0].id, "accepted", reviewer="ben")  # disagrees; the rejection stands
        edited = dict(items[7].example.output, vendor="Edited GmbH")
        store.decide(items[7].id, "edited", edited, reviewer="ana")
    run(load_config(None, fake_run(QUEUED)), out, progress=False, until="publish", log=lambda m: None)  # publish again
    return out, [i.id for i in items], edited


def test_publish_reports_counts_and_kappa_in_stats_and_card(reviewed):
    out, ids, _ = reviewed
    review = read_json(out / "stats.json")["stages"]["publish"]["review"]
    assert review["counts"] == {"pending": 0, "accepted": 2, "rejected": 5, "edited": 1}
    judge_kept = {r["id"] for r in read_jsonl_dicts(out / "judge" / "sft.jsonl")}
    assert review["agreement"]["judge_vs_reviewers"]["n"] == 8
    assert review["agreement"]["between_reviewers"] == {"kappa": 0.0, "n": 2, "agree": 0.5}
    # by hand: judge keep/drop against reviewers keep (2 accepted) / drop (5 rejected, 1 edited)
    judge = ["keep" if i in judge_kept else "drop" for i in ids]
    human = ["drop"] * 5 + ["keep"] * 2 + ["drop"]
    po = sum(a == b for a, b in zip(judge, human)) / 8
    pe = (judge.count("keep") * 2 + judge.count("drop") * 6) / 64
    want = None if pe == 1 else round((po - pe) / (1 - pe), 4)
    assert review["agreement"]["judge_vs_reviewers"]["kappa"] == want
    card = (out / "dataset" / "README.md").read_text()
    assert "approved 2, rejected 5, edited 1, pending 0" in card
    assert "Cohen's kappa between two reviewers of one row: 0.00 (n=2)" in card
    shown = "undefined" if want is None else f"{want:.2f}"
    assert f"judge keep/drop vs reviewers approve/reject: {shown} (n=8)" in card


def test_gate_refuses_training_with_counts_and_bound(reviewed, capsys, fake_run):
    out, _, _ = reviewed
    cfg = load_config(None, fake_run(QUEUED, "review.max_defect_rate=0.2"))  # by hand: 1.27765 / 1.4802 = 0.863
    with pytest.raises(ReviewGateError, match=r"reviewers rejected 5 of 8 reviewed rows \(2 approved, 1 edited\); "
                                              r"the 95% Wilson upper bound of the defect rate is 0\.863, above "
                                              r"review.max_defect_rate=0.2"):
        run(cfg, out, progress=False, until="train", log=lambda m: None)
    assert not (out / "train" / ".done").exists() and not (out / "adapter").exists()
    args = fake_run(QUEUED, "review.max_defect_rate=0.2")
    code = main(["run", "--out", str(out), "--no-progress", "--until", "train", *args])
    assert code == 2 and "seedfactory: training refused: reviewers rejected 5 of 8" in capsys.readouterr().err
    with pytest.raises(ReviewGateError, match=r"training waits for review: 8 of review.min_reviewed=20 rows"):
        run(load_config(None, fake_run(QUEUED, "review.min_reviewed=20")), out, progress=False, until="train",
            log=lambda m: None)


def test_review_pairs_come_first_and_judge_pairs_lose_rewritten_or_rejected_chosen(reviewed):
    from datasets import load_from_disk

    out, ids, edited = reviewed
    pref = load_from_disk(str(out / "dataset"))["preference"]
    assert pref[0]["source"] == "review" and pref[0]["rejected_id"] == ids[7]
    assert json.loads(pref[0]["chosen"]) == edited
    judge_pairs = [p for p in pref if p["source"] != "review"]
    gone = set(ids[:5]) | {ids[7]}
    assert judge_pairs and not any(p["chosen_id"] in gone for p in judge_pairs)
    all_pairs = read_jsonl_dicts(out / "judge" / "pairs.jsonl")
    assert len(judge_pairs) == sum(p["chosen_id"] not in gone for p in all_pairs)


def test_cli_add_reviewer_export_import_and_errors(reviewed, tmp_path, capsys):
    out, ids, _ = reviewed
    assert main(["review", str(out), "--add-reviewer", "cleo"]) == 0
    token = capsys.readouterr().out.split("token ")[1].split()[0]
    with ReviewStore(out / "review" / "queue.sqlite") as store:
        assert store.reviewer_for(token) == "cleo"
    assert main(["review", str(out), "--add-reviewer", "cleo"]) == 2
    assert "reviewer 'cleo' already exists" in capsys.readouterr().err
    dump = tmp_path / "q.jsonl"
    assert main(["review", str(out), "--export", str(dump)]) == 0
    assert [json.loads(x)["status"] for x in dump.read_text().splitlines()].count("rejected") == 5
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"id": ids[6], "status": "maybe"}) + "\n")
    assert main(["review", str(out), "--import", str(bad)]) == 2
    assert "bad.jsonl:1: field 'status' is 'maybe'" in capsys.readouterr().err
    assert main(["review", str(tmp_path / "nowhere")]) == 2
    assert "no review queue" in capsys.readouterr().err


@pytest.mark.slow  # starts `seedfactory review`, a server process
def test_cli_serves_the_page_and_ctrl_c_stops_it(reviewed):
    out, _, _ = reviewed
    import socket

    with ReviewStore(out / "review" / "queue.sqlite") as store:
        store.add_reviewer("dora")  # the page refuses to start with nobody to review

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "seedfactory", "review", str(out), "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=os.environ | {"PYTHONUNBUFFERED": "1"})
    try:
        line = proc.stdout.readline()
        assert line.startswith(f"review page: http://127.0.0.1:{port}/")
        for _ in range(100):
            try:
                page = httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
                break
            except httpx.ConnectError:
                subprocess.run(["sleep", "0.1"])
        assert page.status_code == 200 and "seedfactory review" in page.text
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()


def test_dataset_size_categories_change_exactly_at_their_bounds():
    from seedfactory.publish import _size_category

    got = {n: _size_category(n) for n in [0, 999, 1000, 9_999, 10_000, 99_999, 100_000, 10**6]}
    assert got == {0: "n<1K", 999: "n<1K", 1000: "1K<n<10K", 9_999: "1K<n<10K", 10_000: "10K<n<100K",
                   99_999: "10K<n<100K", 100_000: "n>100K", 10**6: "n>100K"}


def test_the_review_card_counts_edited_rows_as_reviewed():
    from seedfactory.publish import review_card

    kappa = {"kappa": None, "n": 0}
    summary = {"counts": {"accepted": 2, "rejected": 1, "edited": 1, "pending": 3},
               "agreement": {"judge_vs_reviewers": kappa, "between_reviewers": kappa}}
    text = "\n".join(review_card(summary))
    assert "Queued rows: 7; approved 2, rejected 1, edited 1, pending 3." in text
    assert "Defect rate (rejected among reviewed): 25.0%" in text  # 1 of 4 reviewed, the edited one included


def test_each_verdict_on_a_row_in_a_judge_pair_reaches_the_dataset(reviewed, tmp_path, fake_run):
    # on a copy: one row that is the chosen side of judge pairs is approved, one edited (no reviewer
    # name), one rejected; published again, each verdict shows in the pairs, the sft rows and the stats
    import shutil

    from datasets import load_from_disk

    out = tmp_path / "run"
    shutil.copytree(reviewed[0], out)
    from seedfactory.schemas import Example
    from seedfactory.util.files import read_jsonl

    chosen = {p["chosen_id"] for p in read_jsonl_dicts(out / "judge" / "pairs.jsonl")}
    judged = {v["example_id"]: v for v in read_jsonl_dicts(out / "judge" / "verdicts.jsonl")}
    with ReviewStore(out / "review" / "queue.sqlite") as store:
        for item in store.items():
            store.decide(item.id, "pending")
        queued = {i.id for i in store.items()}
        store.add([r for r in read_jsonl(out / "judge" / "sft.jsonl", Example)
                   if r.id in chosen and r.id not in queued], {})
        in_pairs = [i for i in store.items() if i.id in chosen]
        assert len(in_pairs) >= 3
        approved, edited, rejected = in_pairs[:3]
        store.decide(approved.id, "accepted", reviewer="ana")
        new_output = dict(edited.example.output, vendor="Edited GmbH")
        store.decide(edited.id, "edited", new_output)
        store.decide(rejected.id, "rejected", reviewer="ana", reason="wrong")
    run(load_config(None, fake_run(QUEUED)), out, progress=False, until="publish", log=lambda m: None)
    ds = load_from_disk(str(out / "dataset"))
    judge_pairs = [p for p in ds["preference"] if p["source"] != "review"]
    assert any(p["chosen_id"] == approved.id for p in judge_pairs)
    assert not any(p["chosen_id"] in (edited.id, rejected.id) for p in judge_pairs)
    review_pairs = [p for p in ds["preference"] if p["source"] == "review"]
    assert [(p["rejected_id"], p["margin"]) for p in review_pairs] == [(edited.id, 0.0)]
    rows = {r["id"]: r for r in ds["sft"]}
    assert rejected.id not in rows
    assert (rows[approved.id]["review"], rows[approved.id]["reviewer"]) == ("accepted", "ana")
    assert (rows[edited.id]["review"], rows[edited.id]["reviewer"]) == ("edited", "")
    assert rows[approved.id]["original_output"] == ""
    assert json.loads(rows[edited.id]["output"]) == new_output
    assert json.loads(rows[edited.id]["original_output"]) == edited.example.output
    assert rows[approved.id]["judge_rationale"] == judged[approved.id]["rationale"] != ""
    assert read_json(out / "publish" / "stats.json")["review_approved_in_sft"] == 1


def test_refresh_card_rewrites_an_existing_card_only(reviewed, tmp_path):
    # on a copy: an evaluation without a value and publish counts without sizes still give a card
    # (zeros, not made-up numbers); with the card or the publish counts missing nothing is written
    import shutil

    from seedfactory.publish import refresh_card
    from seedfactory.util.files import write_json

    out = tmp_path / "run"
    shutil.copytree(reviewed[0], out)
    card, counts = out / "dataset" / "README.md", out / "publish" / "stats.json"
    write_json(out / "eval.json", {"sft": {"metric": "exact_match", "n": 3}})
    write_json(counts, {k: v for k, v in read_json(counts).items() if k not in ("sft", "preference")})
    assert refresh_card(out) is True
    text = card.read_text()
    assert "| sft | exact_match | 0.000 | - | 3 |" in text
    assert "- `sft`: 0 rows" in text and "- `preference`: 0 pairs" in text
    card.write_text("old card")
    counts.unlink()
    assert refresh_card(out) is False and card.read_text() == "old card"
    write_json(counts, {"sft": 1})
    card.unlink()
    assert refresh_card(out) is False and not card.exists()


def test_the_gate_alone_waits_without_a_queue_and_is_off_by_default(tmp_path):
    from seedfactory.review import review_gate
    from seedfactory.schemas.config import ReviewConfig

    assert review_gate(tmp_path / "queue.sqlite", ReviewConfig()) is None  # off: no queue needed
    with pytest.raises(ReviewGateError, match=r"training waits for review: 0 of review.min_reviewed=1 rows"):
        review_gate(tmp_path / "queue.sqlite", ReviewConfig(min_reviewed=1))
