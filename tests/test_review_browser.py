"""The review page in a real headless Chromium: a reviewer logs in with a token, sees model output
as text (not markup), skips, approves, rejects and edits (a bad edit refused first) with keyboard
shortcuts, and a save that lost the race sees the newer verdict; the verdicts land in SQLite, and
rerunning the run directory (fake teacher and judge, hash embedder) redoes only publish, with the
dataset and the preference split changed to match. Screenshots of the page go under the run directory."""

import json
from datetime import UTC, datetime

import pytest
from factories import make_example

from seedfactory.pipeline import run
from seedfactory.review import ReviewStore
from seedfactory.review.rows import RowContext
from seedfactory.review.web import serve_in_thread
from seedfactory.schemas import Example, load_config, load_schema
from seedfactory.util.files import read_jsonl

XSS = "<script>window.__xss = 1</script><img src=x onerror='window.__xss = 2'>"


@pytest.mark.slow  # a real browser: ~10 s of CPU
def test_review_in_a_browser_changes_the_dataset(browser, published_run, fake_run):
    from datasets import load_from_disk

    out = published_run("review.sample_size=6")
    cfg = load_config(None, fake_run("review.sample_size=6"))
    schema = load_schema(out / "split" / "schema.json")
    queue = out / "review" / "queue.sqlite"
    # The test's own queue, so the page shows rows of the SFT split in a known order: an odd row first.
    for f in queue.parent.glob("queue.sqlite*"):
        f.unlink()
    with ReviewStore(queue, clock=lambda: datetime(2000, 1, 1, tzinfo=UTC)) as store:
        evil = make_example("evil-row", f"Extract {XSS}", output={"vendor": XSS, "total": 1.0, "currency": "EUR"})
        store.add([evil], {})
    sft_rows = list(read_jsonl(out / "judge" / "sft.jsonl", Example))[:6]
    with ReviewStore(queue, clock=lambda: datetime(2001, 1, 1, tzinfo=UTC)) as store:
        store.add(sft_rows, {r.id: r.scores.get("judge") for r in sft_rows if "judge" in r.scores})
        token = store.add_reviewer("ana")
    store = ReviewStore(queue, schema=schema)
    order = [i.id for i in store.items()]
    assert order[0] == "evil-row"
    originals = {i.id: i.example.output for i in store.items()}
    try:
        with serve_in_thread(create_app_for(out, store, schema)) as base:
            page = browser.new_page()
            page.goto(base + "/")
            page.fill("#token", "not-a-token")
            page.click("#login-btn")
            page.wait_for_selector("#message.error")
            assert "valid reviewer token" in page.text_content("#message")
            page.fill("#token", token)
            page.press("#token", "Enter")
            page.wait_for_selector("#row:not([hidden])")
            # Model output is shown as text: the markup is on the page literally, and never ran.
            assert page.text_content("#row-id") == "evil-row"
            assert XSS in page.text_content("#output") and XSS in page.text_content("#instruction")
            assert page.evaluate("window.__xss") is None
            assert page.locator("#row img, #row script").count() == 0
            assert page.text_content("#counter") == "reviewed 0 / queued 7"
            page.screenshot(path=str(out / "review" / "page-xss-row.png"), full_page=True)
            page.keyboard.press("s")  # skip the odd row
            wait_for_row(page, order[1])
            page.keyboard.press("a")  # approve
            wait_for_row(page, order[2])
            page.keyboard.press("r")  # reject: reason + note, Enter
            page.select_option("#reason", "wrong")
            page.fill("#note", "total does not match the input")
            page.press("#note", "Enter")
            wait_for_row(page, order[3])
            page.keyboard.press("e")  # edit: first an invalid edit, refused with the schema error
            page.fill("#edit-text", json.dumps({"vendor": 5}))
            page.press("#edit-text", "Control+Enter")
            page.wait_for_selector("#message.error")
            assert "does not fit the output schema" in page.text_content("#message")
            assert page.text_content("#row-id") == order[3]
            edited = dict(originals[order[3]], vendor="Edited GmbH")
            page.fill("#edit-text", json.dumps(edited, indent=2))
            page.press("#edit-text", "Control+Enter")
            wait_for_row(page, order[4])
            assert page.text_content("#counter") == "reviewed 3 / queued 7"
            page.screenshot(path=str(out / "review" / "page.png"), full_page=True)
            # The same row saved from another tab first: this save gets the conflict and the newer verdict.
            store.decide(order[4], "accepted", reviewer="ana", version=0)
            page.keyboard.press("r")
            page.press("#note", "Enter")
            page.wait_for_selector("#message.error")
            assert "changed since version 0" in page.text_content("#message")
            assert "Newer verdict: accepted by ana" in page.text_content("#message")
            page.close()
    finally:
        store.close()

    with ReviewStore(queue) as store:  # what the page wrote
        v = store.verdicts()
        assert {k: x["status"] for k, x in v.items()} == {order[1]: "accepted", order[2]: "rejected",
                                                           order[3]: "edited", order[4]: "accepted"}
        assert (v[order[2]]["reason"], v[order[2]]["note"]) == ("wrong", "total does not match the input")
        assert v[order[3]]["edited_output"] == edited and v[order[1]]["reviewer"] == "ana"
        assert store.get("evil-row").status == "pending"
    before = load_from_disk(str(out / "dataset"))
    logs: list[str] = []
    run(cfg, out, progress=False, until="publish", log=logs.append)
    assert [line.split()[1].rstrip(":") for line in logs if line.endswith("...")] == ["publish"]
    after = load_from_disk(str(out / "dataset"))
    sft = after["sft"]
    assert len(sft) == len(before["sft"]) - 1 and order[2] not in sft["id"]
    row = sft[sft["id"].index(order[3])]
    assert json.loads(row["output"]) == edited and json.loads(row["original_output"]) == originals[order[3]]
    assert json.loads(row["record"])["lineage"]["original_output"] == originals[order[3]]
    assert sft[sft["id"].index(order[1])]["review"] == "accepted" and row["review"] == "edited"
    pref = after["preference"]
    gone = sum(c in (order[2], order[3]) for c in before["preference"]["chosen_id"])  # rejected or rewritten chosen
    assert len(pref) == len(before["preference"]) + 1 - gone and pref[0]["source"] == "review"
    assert (json.loads(pref[0]["chosen"]), json.loads(pref[0]["rejected"])) == (edited, originals[order[3]])
    assert (out / "review" / "page.png").stat().st_size > 10_000


def create_app_for(out, store, schema):
    from seedfactory.review.web import create_app

    return create_app(store, RowContext.load(out, schema))


def wait_for_row(page, row_id):
    page.wait_for_function("id => document.getElementById('row-id').textContent === id", arg=row_id)
