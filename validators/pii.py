"""Personal data in text: found by recognisers behind one small interface, then reported, masked
with consistent fakes of the same kind, or the text dropped (`pool.pii: report|mask|drop`).

    rec = recogniser()                       # OwnRecognisers: e-mails, phones, cards, IBANs, ids, names, addresses
    found = rec.find("mail ana.ruiz@example.org")   # [Entity("email", 5, 25, "ana.ruiz@example.org")]
    masker = Masker(seed=0)
    masker.mask(text, found)                 # the same e-mail always becomes the same fake e-mail

Presidio and scrubadub need a spaCy model (en_core_web_*) that no package index here carries, so
the recognisers are our own (validators/pii_recognisers.py): checksums where a kind has one (Luhn
for cards, mod-97 for IBANs), phonenumbers for phones, word lists and cues for names.
`python -m bench.pii` measures precision and recall per kind on a labelled sample.

A fake keeps its kind's shape: a phone keeps its first digits and length, a card its first digit,
length, separators and a valid Luhn digit, an IBAN its country, length and valid check digits, a
name its number of words (a first name met alone after its full name gets the same fake first
name). So a row whose output field is the masked input's e-mail or name stays grounded.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections import Counter
from typing import NamedTuple, Protocol

KINDS = ("email", "phone", "card", "iban", "national_id", "person", "address")


class Entity(NamedTuple):
    kind: str
    start: int
    end: int
    text: str


class PiiRecogniser(Protocol):
    name: str

    def find(self, text: str) -> list[Entity]: ...


def recogniser() -> PiiRecogniser:
    from seedfactory.validators.pii_recognisers import OwnRecognisers

    return OwnRecognisers()


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def iban_ok(compact: str) -> bool:
    """ISO 13616: move the first four characters to the end, letters to 10..35, mod 97 is 1."""
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}", compact):
        return False
    moved = compact[4:] + compact[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


def _rng(kind: str, value: str, seed: int) -> random.Random:
    return random.Random(hashlib.sha256(f"{seed}:{kind}:{value.casefold()}".encode()).hexdigest())


def _digits_like(text: str, rng: random.Random, keep: int) -> str:
    """The same text with its digits after the first `keep` replaced."""
    out, seen = [], 0
    for ch in text:
        if ch.isdigit():
            seen += 1
            out.append(ch if seen <= keep else str(rng.randrange(10)))
        else:
            out.append(ch)
    return "".join(out)


def fake_card(text: str, rng: random.Random) -> str:
    digits = re.sub(r"\D", "", text)
    body = digits[0] + "".join(str(rng.randrange(10)) for _ in digits[1:-1])
    check = next(str(d) for d in range(10) if luhn_ok(body + str(d)))
    new, i = [], 0
    for ch in text:
        if ch.isdigit():
            new.append((body + check)[i])
            i += 1
        else:
            new.append(ch)
    return "".join(new)


def fake_iban(text: str, rng: random.Random) -> str:
    compact = re.sub(r"\s", "", text).upper()
    rest = "".join(str(rng.randrange(10)) if c.isdigit() else chr(65 + rng.randrange(26)) for c in compact[4:])
    num = int("".join(str(int(c, 36)) for c in rest + compact[:2] + "00"))
    fake = f"{compact[:2]}{98 - num % 97:02d}{rest}"
    return " ".join(fake[i:i + 4] for i in range(0, len(fake), 4)) if " " in text else fake


class Masker:
    """Consistent fakes: one original value of a kind always maps to one fake (this run's seed)."""

    def __init__(self, seed: int = 0, locale: str = "en_US"):
        from faker import Faker

        self.seed, self.faker = seed, Faker(locale)
        self.names: dict[str, str] = {}  # a real name word -> its fake, so "Orla" follows "Orla Brennigan"

    def fake(self, kind: str, text: str) -> str:
        rng = _rng(kind, text, self.seed)
        self.faker.seed_instance(rng.randrange(2**31))
        if kind == "email":
            return f"{self.faker.user_name()}@{self.faker.free_email_domain()}"
        if kind == "phone":
            return _digits_like(text, rng, keep=4 if text.strip().startswith("+") else 3)
        if kind == "card":
            return fake_card(text, rng)
        if kind == "iban":
            return fake_iban(text, rng)
        if kind == "national_id":
            return _digits_like(text, rng, keep=0)
        if kind == "address":
            return self.faker.street_address()
        return self._fake_name(text)

    def _fake_name(self, text: str) -> str:
        words = text.split()
        if all(w in self.names for w in words):
            return " ".join(self.names[w] for w in words)
        fake = [self.faker.first_name()] + [self.faker.last_name() for _ in words[1:]]
        for real, new in zip(words, fake):
            self.names.setdefault(real, new)
        return " ".join(self.names[w] for w in words)

    def mask(self, text: str, entities: list[Entity]) -> str:
        out, at = [], 0
        for e in sorted(entities, key=lambda e: e.start):
            out += [text[at:e.start], self.fake(e.kind, e.text)]
            at = e.end
        return "".join(out + [text[at:]])


def pii_pass(items: list, mode: str, rec: PiiRecogniser, masker: Masker, reject) -> tuple[list, dict]:
    """Pool items with their entities counted (report), masked (mask) or left out (drop, `pii_found`)."""
    found: Counter[str] = Counter()
    kept, with_pii = [], 0
    for it in items:
        entities = rec.find(it.text)
        kinds = Counter(e.kind for e in entities)
        found.update(kinds)
        with_pii += bool(entities)
        if entities and mode == "drop":
            reject(it.id, "pii_found", detail=f"{it.file}: {', '.join(f'{k} x{n}' for k, n in sorted(kinds.items()))}")
            continue
        update = {"pii": dict(kinds)}
        if entities and mode == "mask":
            update |= {"text": masker.mask(it.text, entities), "masked": True}
        kept.append(it.model_copy(update=update))
    return kept, {"mode": mode, "recogniser": rec.name, "inputs_with_pii": with_pii, "entities": dict(found),
                  "masked": with_pii if mode == "mask" else 0, "dropped": with_pii if mode == "drop" else 0}


def count_pii(texts: list[str], rec: PiiRecogniser) -> dict:
    """Personal data in finished rows (report only): texts with any, entities per kind."""
    found: Counter[str] = Counter()
    with_pii = 0
    for text in texts:
        kinds = Counter(e.kind for e in rec.find(text))
        found.update(kinds)
        with_pii += bool(kinds)
    return {"rows": len(texts), "rows_with_pii": with_pii, "entities": dict(found)}
