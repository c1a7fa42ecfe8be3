"""The PII pass (validators/pii.py): checksums, the recognisers on each kind and on look-alikes,
consistent fakes of the same kind, and report / mask / drop over pool items."""

import re

from bench.pii import main as bench_main
from seedfactory.generators.pool import PoolItem
from seedfactory.schemas import RejectLog
from seedfactory.validators.pii import Masker, iban_ok, luhn_ok, pii_pass, recogniser


def kinds(text):
    return [(e.kind, e.text) for e in recogniser().find(text)]


def test_checksums():
    assert luhn_ok("4111111111111111") and not luhn_ok("4111111111111112")
    assert iban_ok("GB82WEST12345698765432") and not iban_ok("GB82WEST12345698765433")
    assert not iban_ok("GB82")


def test_each_kind_is_found_and_look_alikes_are_not():
    text = ("I'm Orla Brennigan, mail orla.b@example.ie, call +44 20 7946 0321. Card 4111 1111 1111 1111, "
            "IBAN GB82 WEST 1234 5698 7654 32 PLEASE, SSN 123-45-6789, at 42 Harbour View Road, Dublin.")
    assert kinds(text) == [("person", "Orla Brennigan"), ("email", "orla.b@example.ie"), ("phone", "+44 20 7946 0321"),
                           ("card", "4111 1111 1111 1111"), ("iban", "GB82 WEST 1234 5698 7654 32"),
                           ("national_id", "123-45-6789"), ("address", "42 Harbour View Road, Dublin")]
    # a card-shaped number failing Luhn, an excluded SSN area, dates and an order number: none is personal data
    assert kinds("Order 4111 1111 1111 1112 on 2027-03-04 at 14:30, ref 666-12-3456, total 1,234.56.") == []


def test_masking_is_consistent_and_keeps_each_kind():
    rec, masker = recogniser(), Masker(seed=3)
    first = "Hello, my name is Orla Brennigan, card 4111 1111 1111 1111, write to orla@example.ie. Thanks, Orla"
    second = "Orla Brennigan again: orla@example.ie, IBAN DE89 3704 0044 0532 0130 00."
    a, b = masker.mask(first, rec.find(first)), masker.mask(second, rec.find(second))
    assert "Orla" not in a + b and "orla@example.ie" not in a + b and "4111 1111 1111 1111" not in a
    fake_name = masker.fake("person", "Orla Brennigan")
    assert a.count(fake_name) == 1 and b.startswith(fake_name)  # the same person, the same fake everywhere
    assert a.endswith("Thanks, " + fake_name.split()[0])  # her first name alone follows her full name
    card = re.search(r"card ([\d ]+),", a).group(1)
    assert len(card) == 19 and card[0] == "4" and luhn_ok(card.replace(" ", ""))
    iban = re.search(r"IBAN ([A-Z0-9 ]+)\.", b).group(1)
    assert iban.startswith("DE") and len(iban) == len("DE89 3704 0044 0532 0130 00") and iban_ok(iban.replace(" ", ""))
    assert [k for k, _ in kinds(a)] == [k for k, _ in kinds(first)]  # the fakes are found as the same kinds
    assert Masker(seed=3).fake("email", "orla@example.ie") == masker.fake("email", "orla@example.ie")
    assert Masker(seed=4).fake("email", "orla@example.ie") != masker.fake("email", "orla@example.ie")


def test_report_mask_and_drop_over_pool_items():
    items = [PoolItem(id="a", text="Book Ana a dental check please, call 020 7946 0321", file="f.txt"),
             PoolItem(id="b", text="No personal data in this request at all", file="f.txt")]
    rec = recogniser()
    kept, report = pii_pass(items, "report", rec, Masker(), RejectLog())
    assert [it.text for it in kept] == [it.text for it in items] and kept[0].pii == {"phone": 1}
    assert report["inputs_with_pii"] == 1 and report["entities"] == {"phone": 1} and report["masked"] == 0
    kept, report = pii_pass(items, "mask", rec, Masker(), RejectLog())
    assert kept[0].masked and "7946 0321" not in kept[0].text and kept[0].text.startswith("Book Ana a dental")
    assert kept[1].text == items[1].text and not kept[1].masked and report["masked"] == 1
    reject = RejectLog()
    kept, report = pii_pass(items, "drop", rec, Masker(), reject)
    assert [it.id for it in kept] == ["b"] and report["dropped"] == 1
    assert reject.records[0].reason == "pii_found" and reject.records[0].detail == "f.txt: phone x1"


def test_bench_recall_on_the_labelled_sample(capsys):
    out = bench_main([])
    for kind in ("email", "phone", "card", "iban"):
        assert out["per_kind"][kind]["recall"] >= 0.9, kind
    valid, cards = out["masking"]["fake_cards_luhn_valid"].split("/")
    assert valid == cards
    assert capsys.readouterr().out.strip().splitlines()[-1].startswith('{"bench": "pii"')
