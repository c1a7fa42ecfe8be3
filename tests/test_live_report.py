"""`seedfactory run --watch`: report.html is rebuilt after every stage and reloads itself while the
run goes; the page left when the run ends (or stops) does not reload."""

from seedfactory.pipeline import run
from seedfactory.report.page import LIVE_SECONDS
from seedfactory.schemas import load_config

REFRESH = f'<meta http-equiv="refresh" content="{LIVE_SECONDS}">'


def test_watch_rebuilds_a_reloading_report_after_each_stage(fake_run, tmp_path):
    out, seen = tmp_path / "run", {}

    def log(msg: str):
        if msg.endswith(" ...") and (out / "report.html").is_file():  # a stage starts: the page as it is now
            seen[msg.split("] ")[1].split(" ")[0]] = (out / "report.html").read_text()

    run(load_config(None, fake_run("generate.num_tasks=4")), out, progress=False, until="validate", log=log,
        watch=True)
    assert set(seen) == {"split", "pool", "generate", "baseline", "validate"}
    assert REFRESH in seen["split"] and "0 of 10 stages done; next: split" in seen["split"]
    assert "3 of 10 stages done; next: baseline" in seen["baseline"]
    assert "<td>generate</td>" in seen["validate"] and "<td>generate</td>" not in seen["generate"]
    final = (out / "report.html").read_text()
    assert REFRESH not in final and "Run in progress" not in final and "<td>validate</td>" in final


def test_without_watch_no_page_reloads(fake_run, tmp_path):
    out = tmp_path / "run"
    run(load_config(None, fake_run("generate.num_tasks=4")), out, progress=False, until="split", log=lambda m: None)
    assert not (out / "report.html").exists() or REFRESH not in (out / "report.html").read_text()
