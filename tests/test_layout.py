"""Input layouts: values, digits and month names masked, so two rows that differ only in their values
share a layout and a rewrite in new words does not."""

from factories import make_example

from seedfactory.schemas import SeedExample
from seedfactory.validators.layout import layout, layout_stats


def test_values_digits_and_months_are_masked():
    out = {"who": "Ana Ruiz", "day": "2027-03-03", "at": "14:30"}
    assert layout("Meet Ana Ruiz on 3 March 2027 at 2:30pm, room 12.", out, {"at": "time"}) == \
        "meet <who> on <day> at <at>, room 0."
    assert layout("Meet Bo Lind on 9 May 2026 at 9:15am, room 4.", {"who": "Bo Lind", "day": "2026-05-09",
                                                                     "at": "09:15"}, {"at": "time"}) == \
        "meet <who> on <day> at <at>, room 0."


def test_stats_count_layouts_the_commonest_and_rows_not_worded_as_a_seed():
    seed = SeedExample(id="s", instruction="X.", input="Meet Ana Ruiz in March.", output={"who": "Ana Ruiz"})
    rows = [make_example("a", input="Meet Bo Lind in May.", output={"who": "Bo Lind"}),
            make_example("b", input="Meet Cy Moss in June.", output={"who": "Cy Moss"}),
            make_example("c", input="Cy Moss would like a meeting.", output={"who": "Cy Moss"})]
    assert layout_stats(rows, [seed]) == {"rows": 3, "distinct_layouts": 2, "top_layout_share": 0.6667,
                                          "not_seed_wording": 0.3333}
    assert layout_stats([], [seed])["top_layout_share"] is None
