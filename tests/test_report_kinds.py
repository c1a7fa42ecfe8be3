"""The report's field-kinds block: each field's kind and evidence, its grounding check, red with the
unread seeds where the check is off (a failure of the finder), the seeds written into, the label check."""

import json

from seedfactory.report.funnel import _kinds
from seedfactory.report.reader import Run


def _run(tmp_path, applied: bool):
    (tmp_path / "validate").mkdir()
    (tmp_path / "generate").mkdir()
    (tmp_path / "judge").mkdir()
    cal = {"kinds": {"slot": {"kind": "time", "evidence": "12/12 parse as times"},
                     "who": {"kind": "person", "evidence": "names"}},
           "checks": {"ungrounded": {"fields": {
               "slot": {"seed_pass_rate": 1.0 if applied else 0.5, "applied": applied,
                        "unread": [] if applied else ["s3", "s7"]},
               "who": {"seed_pass_rate": 1.0, "applied": True, "unread": []}}}}}
    (tmp_path / "validate" / "calibration.json").write_text(json.dumps(cal))
    (tmp_path / "generate" / "stats.json").write_text(json.dumps(
        {"seeds_templated": {"used": 11, "of": 12, "not_used": {"s9": "who='X' not found in its text"}},
         "rewrites": {"layouts": 17}}))
    (tmp_path / "publish").mkdir()
    (tmp_path / "publish" / "stats.json").write_text(json.dumps(
        {"layouts": {"rows": 20, "distinct_layouts": 13, "top_layout_share": 0.15, "not_seed_wording": 0.35}}))
    (tmp_path / "judge" / "labels.json").write_text(json.dumps(
        {"urgent": {"applied": False, "loo_accuracy": 0.61, "majority_baseline": 0.67, "method": "centroid"}}))
    return Run(tmp_path)


def test_a_check_the_finder_fails_is_red_and_names_the_seeds(tmp_path):
    html = _kinds(_run(tmp_path, applied=False))
    assert "<td>slot</td><td>time</td><td>12/12 parse as times</td>" in html
    assert '<span class="fail">OFF: the finder could not read s3, s7</span>' in html
    assert '<span class="">on</span>' in html  # who's check
    assert "Seeds written into (templates or rewrites): 11 of 12" in html and "s9: who=" in html
    assert "Rewrite layouts: 17" in html
    assert "Published rows: 20; distinct layouts (values, digits and month names masked) 13" in html
    assert "the commonest layout 0.15 of rows; wording not a seed's 0.35" in html
    assert "<td>urgent</td><td>no</td>" in html


def test_all_checks_on_show_no_red_and_no_kinds_shows_nothing(tmp_path):
    html = _kinds(_run(tmp_path, applied=True))
    assert 'class="fail">OFF' not in html and html.count('<span class="">on</span>') == 2
    assert _kinds(Run(tmp_path / "missing")) == ""


def test_the_card_lists_each_fields_kind_and_its_check(tmp_path):
    from seedfactory.publish import kinds_card

    _run(tmp_path, applied=False)
    lines = kinds_card(tmp_path)
    assert lines[:4] == ["## Field kinds", "", "| field | kind | evidence | grounding check |", "|---|---|---|---|"]
    assert "| slot | time | 12/12 parse as times | OFF (50% of seeds) |" in lines
    assert "| who | person | names | on (100% of seeds) |" in lines
    assert kinds_card(tmp_path / "missing") == []
