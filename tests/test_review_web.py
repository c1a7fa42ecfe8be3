"""The review page's HTTP API: tokens, CSRF, leases per reviewer, no paths from requests, output as
data; and 8 reviewers at once through a real uvicorn server on a 100-row queue."""

import threading
from collections import Counter

import httpx
import pytest
from factories import make_example
from starlette.testclient import TestClient
from test_review_leases import SCHEMA, Clock

from seedfactory.review import ReviewStore
from seedfactory.review.rows import RowContext
from seedfactory.review.web import CSP, create_app, serve_in_thread

XSS = "<script>window.__xss = 1</script><img src=x onerror='window.__xss = 2'>"


def rows(n):
    return [make_example(f"row-{i:03d}", f"Task {i}", prompt_id=f"p{i}",
                         output={"vendor": XSS if i == 0 else f"V{i}", "total": float(i)}) for i in range(n)]


@pytest.fixture
def app_store(tmp_path):
    clock = Clock()
    store = ReviewStore(tmp_path / "q.sqlite", schema=SCHEMA, lease_minutes=10, clock=clock)
    store.add(rows(4), {})
    tokens = {name: store.add_reviewer(name) for name in ("ana", "ben")}
    yield create_app(store, RowContext(schema=SCHEMA)), store, tokens, clock
    store.close()


def session(client, token):
    auth = {"Authorization": f"Bearer {token}"}
    got = client.get("/api/session", headers=auth)
    assert got.status_code == 200
    return auth | {"X-CSRF-Token": got.json()["csrf"]}


def test_page_is_static_and_locked_down(app_store):
    app, *_ = app_store
    client = TestClient(app)
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-security-policy"] == CSP
    assert "script-src 'self'" in CSP and "unsafe-inline" not in CSP
    assert "<script src=\"/static/app.js\"" in page.text and "row-000" not in page.text
    js = client.get("/static/app.js").text
    assert "textContent" in js and "innerHTML" not in js and "insertAdjacentHTML" not in js
    # No file is served by a name from the request.
    for path in ["/static/../store.py", "/static/..%2Fstore.py", "/static/index.html", "/static/web.py"]:
        assert client.get(path).status_code == 404


def test_row_view_carries_markup_as_plain_json_text(app_store):
    app, store, tokens, _ = app_store
    client = TestClient(app)
    got = client.get("/api/next", headers={"Authorization": f"Bearer {tokens['ana']}"})
    item = got.json()["item"]
    assert item["id"] == "row-000" and XSS in item["output"]  # data, escaped by JSON, shown with textContent
    assert got.headers["content-type"] == "application/json"
    assert item["schema_errors"] == []


def test_writes_need_a_token_csrf_same_origin_json_and_your_own_lease(app_store):
    app, store, tokens, _ = app_store
    client = TestClient(app)
    ana = session(client, tokens["ana"])
    ben = session(client, tokens["ben"])
    row = client.get("/api/next", headers=ana).json()["item"]
    url, body = f"/api/items/{row['id']}/verdict", {"action": "approve", "version": row["version"]}
    assert client.post(url, json=body).status_code == 401
    assert client.post(url, json=body, headers={"Authorization": "Bearer nope"}).status_code == 401
    no_csrf = {"Authorization": ana["Authorization"]}
    assert client.post(url, json=body, headers=no_csrf).json()["error"].startswith("missing or wrong CSRF token")
    assert client.post(url, json=body, headers=ana | {"X-CSRF-Token": ben["X-CSRF-Token"]}).status_code == 403
    assert client.post(url, json=body, headers=ana | {"Origin": "http://evil.example"}).status_code == 403
    assert client.post(url, data={"action": "approve"}, headers=ana).status_code == 415
    # ben cannot read or write ana's row, nor skip it.
    assert client.get(f"/api/items/{row['id']}", headers=ben).status_code == 403
    refused = client.post(url, json=body, headers=ben)
    assert refused.status_code == 403 and "not leased to ben" in refused.json()["error"]
    assert client.post(f"/api/items/{row['id']}/skip", json={}, headers=ben).status_code == 403
    assert store.get(row["id"]).status == "pending"
    ok = client.post(url, json=body, headers=ana)
    assert ok.status_code == 200 and ok.json()["item"]["status"] == "accepted"
    assert ok.json()["counts"] | {"reviewed": 1, "queued": 4} == ok.json()["counts"]


def test_invalid_edit_is_refused_with_the_error_then_a_good_one_saved(app_store):
    app, store, tokens, _ = app_store
    client = TestClient(app)
    ana = session(client, tokens["ana"])
    row = client.get("/api/next", headers=ana).json()["item"]
    url = f"/api/items/{row['id']}/verdict"
    bad = client.post(url, json={"action": "edit", "version": row["version"], "output": '{"vendor": "X"}'}, headers=ana)
    assert bad.status_code == 422 and "'total' is a required property" in bad.json()["error"]
    bad = client.post(url, json={"action": "edit", "version": row["version"], "output": "{oops"}, headers=ana)
    assert bad.status_code == 422 and bad.json()["error"].startswith("the edit is not valid JSON")
    assert client.post(url, json={"action": "reject", "version": row["version"]}, headers=ana).status_code == 422
    good = client.post(url, json={"action": "edit", "version": row["version"],
                                  "output": '{"vendor": "X", "total": 9}'}, headers=ana)
    assert good.status_code == 200
    assert store.get(row["id"]).edited_output == {"vendor": "X", "total": 9}


def test_the_later_of_two_saves_gets_409_and_the_newer_verdict(app_store):
    app, store, tokens, _ = app_store
    client = TestClient(app)
    ana = session(client, tokens["ana"])
    row = client.get("/api/next", headers=ana).json()["item"]  # the same row open in two tabs
    url = f"/api/items/{row['id']}/verdict"
    first = client.post(url, json={"action": "reject", "reason": "wrong", "note": "tab 1", "version": row["version"]},
                        headers=ana)
    assert first.status_code == 200
    clash = client.post(url, json={"action": "approve", "version": row["version"]}, headers=ana)
    assert clash.status_code == 409 and "changed since version 0" in clash.json()["error"]
    assert clash.json()["current"]["verdict"] | {"status": "rejected", "reviewer": "ana", "note": "tab 1"} == \
        clash.json()["current"]["verdict"]
    assert store.get(row["id"]).status == "rejected"
    # A reviewer who never held the row learns nothing about it.
    ben = session(client, tokens["ben"])
    assert client.post(url, json={"action": "approve", "version": 0}, headers=ben).status_code == 403


def _reviewer(base, token, log, abandon_after=None):
    """One reviewer's loop: take the next row, decide it; optionally walk away holding a lease."""
    with httpx.Client(base_url=base, timeout=30) as http:
        auth = {"Authorization": f"Bearer {token}"}
        headers = auth | {"X-CSRF-Token": http.get("/api/session", headers=auth).json()["csrf"]}
        done = 0
        while True:
            item = http.get("/api/next", headers=headers).json()["item"]
            if item is None:
                return
            if abandon_after is not None and done == abandon_after:
                log.append(("abandoned", item["id"], token))
                return
            action = "reject" if int(item["id"][-3:]) % 5 == 0 else "approve"
            got = http.post(f"/api/items/{item['id']}/verdict", headers=headers,
                            json={"action": action, "version": item["version"], "reason": "wrong"})
            log.append((got.status_code, item["id"], token, action))
            done += 1


def test_eight_reviewers_at_once_each_row_reviewed_exactly_once(tmp_path):
    clock = Clock()
    store = ReviewStore(tmp_path / "q.sqlite", schema=SCHEMA, overlap=0.2, lease_minutes=10, clock=clock)
    store.add(rows(100), {})
    tokens = [store.add_reviewer(f"r{i}") for i in range(8)]
    names = {t: f"r{i}" for i, t in enumerate(tokens)}
    need = {r.id: 2 if store.needs_two(r.id) else 1 for r in rows(100)}
    log: list = []
    with serve_in_thread(create_app(store, RowContext(schema=SCHEMA))) as base:
        # Round 1: four reviewers walk away holding a lease after 3 verdicts.
        threads = [threading.Thread(target=_reviewer, args=(base, t, log, 3 if i < 4 else None))
                   for i, t in enumerate(tokens)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        abandoned = {e[1] for e in log if e[0] == "abandoned"}
        reviewed = Counter(r["item_id"] for r in store.reviews())
        assert len(abandoned) == 4 and all(reviewed[i] < need[i] for i in abandoned)
        assert store.lease_next("r7") is None  # held rows are not handed out while their leases last
        clock.advance(11)  # their leases expire; round 2 finishes the queue
        threads = [threading.Thread(target=_reviewer, args=(base, t, log)) for t in tokens]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    saves = [e for e in log if e[0] != "abandoned"]
    assert all(e[0] == 200 for e in saves)
    per_row = Counter(e[1] for e in saves)
    assert per_row == need  # every row once, overlap rows twice
    assert sum(n == 2 for n in need.values()) > 5
    # No lost update: the store holds exactly the verdicts the reviewers were told were saved.
    assert sorted((r["item_id"], r["reviewer"]) for r in store.reviews()) == \
        sorted((e[1], names[e[2]]) for e in saves)
    assert store.counts()["pending"] == 0
    for item_id in abandoned:  # reissued after expiry, to someone who then decided it
        leases = [h for h in store.lease_history() if h["item_id"] == item_id]
        lapsed = [i for i, h in enumerate(leases) if h["outcome"] is None]
        assert len(lapsed) == 1 and leases[-1]["outcome"] == "decided" and len(leases) > lapsed[0] + 1
    store.close()
