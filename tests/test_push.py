"""`seedfactory push` and the model card: a dry run lists the staged files and sends nothing; a real
push goes through huggingface_hub to a stand-in Hub on loopback that records each request (repo
creation, preupload, the commit's files), and the token travels only from the environment."""

import base64
import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from seedfactory.cli import main
from seedfactory.model_card import model_card, write_model_card
from seedfactory.util.files import write_json


class StandInHub(BaseHTTPRequestHandler):
    """The few Hub endpoints `create_repo` and `upload_folder` call; every request is recorded."""

    log: list[dict] = []

    def log_message(self, *args):
        pass

    def _reply(self, body: dict, status: int = 200):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        entry = {"path": self.path, "auth": self.headers.get("Authorization")}
        self.log.append(entry)
        if self.path == "/api/repos/create":
            req = json.loads(body)
            entry["create"] = req
            prefix = "datasets/" if req.get("type") == "dataset" else ""
            return self._reply({"url": f"http://{self.headers['Host']}/{prefix}{req['organization']}/{req['name']}"})
        if self.path == "/api/validate-yaml":
            return self._reply({})
        if "/preupload/" in self.path:
            files = json.loads(body)["files"]
            return self._reply({"files": [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False}
                                          for f in files]})
        if "/commit/" in self.path:
            lines = [json.loads(x) for x in body.decode().splitlines() if x.strip()]
            entry["files"] = {ln["value"]["path"]: base64.b64decode(ln["value"]["content"])
                              for ln in lines if ln["key"] == "file"}
            kind, repo = self.path.split("/commit/")[0].removeprefix("/api/").split("/", 1)
            prefix = "" if kind == "models" else f"{kind}/"
            return self._reply({"commitUrl": f"http://{self.headers['Host']}/{prefix}{repo}/commit/{'0' * 40}",
                                "commitOid": "0" * 40})
        self._reply({"error": "not here"}, 404)


@pytest.fixture
def hub(monkeypatch):
    import huggingface_hub.constants

    StandInHub.log = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), StandInHub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{server.server_address[1]}")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)  # the tests' switch; loopback only here
    yield StandInHub.log
    server.shutdown()


@pytest.fixture
def trained(published_run):
    """A published fake run with an adapter's files and an evaluation, as train and evaluate leave them."""
    run = published_run("generate.num_tasks=8")
    (run / "adapter").mkdir()
    write_json(run / "adapter" / "adapter_config.json", {"peft_type": "LORA", "r": 8})
    (run / "adapter" / "adapter_model.safetensors").write_bytes(b"\x00weights" * 100)
    write_json(run / "train" / "stats.json", {"sft": {"steps": 32, "rows": 8, "first_loss": 2.1, "last_loss": 0.9},
                                              "preference": {"skipped": "4 pairs < train.min_pairs=8"}})
    write_json(run / "eval.json", {
        "base": {"metric": "field_exact_match", "value": 0.1, "n": 6, "ci95": [0.0, 0.3]},
        "dpo": {"metric": "field_exact_match", "value": 0.4, "n": 6, "ci95": [0.15, 0.65]},
        "differences": {"dpo_minus_sft": {"value": 0.0, "ci95": [0.0, 0.0], "n": 6}}})
    return run


def test_model_card_names_base_licence_data_training_and_intervals(trained):
    card = model_card(trained, "me/rows")
    assert card.startswith("---\nlicense: apache-2.0\nbase_model: HuggingFaceTB/SmolLM2-135M-Instruct\n")
    assert "datasets: [me/rows]" in card and "(seedfactory student `smollm2-135m`)" in card
    assert "| dpo | field_exact_match | 0.400 | 0.150 to 0.650 | 6 |" in card
    assert "| dpo - sft | 0.000 | 0.000 to 0.000 | 6 |" in card
    assert "LoRA r=8, alpha=16" in card and "loss 2.1 -> 0.9" in card and "DPO: skipped (4 pairs" in card
    assert "## Intended use" in card and "Evaluated on 6 cases" in card
    assert "failed its self-test" in card  # the fake judge fails it on these seeds
    assert write_model_card(trained) and (trained / "model_card.md").read_text() == model_card(trained)


def test_model_card_of_an_unknown_base_says_its_licence_is_unknown(trained):
    cfg = (trained / "config.yaml").read_text().replace("student: smollm2-135m", "student: /models/mine")
    (trained / "config.yaml").write_text(cfg)
    card = model_card(trained)
    assert "license: other" in card and "not known to seedfactory" in card and "datasets:" not in card


def test_dry_run_lists_the_uploads_and_sends_nothing(trained, hub, monkeypatch, capsys):
    monkeypatch.delenv("HF_TOKEN", raising=False)  # a dry run needs none
    assert main(["push", str(trained), "--dataset", "me/rows", "--model", "me/student"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("dry run: nothing uploaded; add --yes to upload\n")
    assert "dataset me/rows (public): 3 files" in out and "  data/sft-00000-of-00001.parquet" in out
    assert "  data/preference-00000-of-00001.parquet" in out
    assert "model me/student (public): 3 files" in out and "  adapter_model.safetensors  800 bytes" in out
    assert hub == []


def test_push_uploads_both_repos_with_cards_and_the_environment_token(trained, hub, monkeypatch, capsys):
    from datasets import load_from_disk

    monkeypatch.setenv("HF_TOKEN", "hf_test_token")
    assert main(["push", str(trained), "--dataset", "me/rows", "--model", "me/student", "--private", "--yes"]) == 0
    creates = [e["create"] for e in hub if "create" in e]
    assert [(c["name"], c.get("type"), c.get("visibility")) for c in creates] == [("rows", "dataset", "private"),
                                                                                       ("student", "model", "private")]
    assert {e["auth"] for e in hub} == {"Bearer hf_test_token"}
    commits = {e["path"].split("/commit/")[0]: e["files"] for e in hub if "files" in e}
    data, model = commits["/api/datasets/me/rows"], commits["/api/models/me/student"]
    assert sorted(data) == ["README.md", "data/preference-00000-of-00001.parquet", "data/sft-00000-of-00001.parquet"]
    assert data["README.md"].decode() == (trained / "dataset" / "README.md").read_text()
    import io

    import pyarrow.parquet as pq

    sft = pq.read_table(io.BytesIO(data["data/sft-00000-of-00001.parquet"]))
    assert sft.num_rows == len(load_from_disk(str(trained / "dataset"))["sft"])
    assert hashlib.sha256(model["adapter_model.safetensors"]).digest() == hashlib.sha256(
        (trained / "adapter" / "adapter_model.safetensors").read_bytes()).digest()
    assert "datasets: [me/rows]" in model["README.md"].decode()
    assert not any("hf_test_token" in p.read_text(errors="ignore") for p in trained.rglob("*") if p.is_file()
                   and p.stat().st_size < 1_000_000)  # the token is written nowhere in the run


def test_push_without_a_token_refuses_and_sends_nothing(trained, hub, monkeypatch, capsys):
    monkeypatch.delenv("HF_TOKEN", raising=False)
    assert main(["push", str(trained), "--model", "me/student", "--yes"]) == 2
    assert "set HF_TOKEN in the environment" in capsys.readouterr().err and hub == []


def test_push_of_an_untrained_run_names_what_is_missing(published_run, capsys):
    run = published_run("generate.num_tasks=8")
    assert main(["push", str(run), "--model", "me/student"]) == 2
    assert "no trained adapter (adapter/adapter_config.json missing)" in capsys.readouterr().err
