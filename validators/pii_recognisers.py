"""Our own personal-data recognisers (validators/pii.py has the interface and why they are ours).

Each kind is a candidate pattern plus a check that cuts false positives: Luhn for card numbers,
ISO 13616 mod-97 for IBANs, phonenumbers for phones (at least 7 digits, written with + or in one of
REGIONS), the SSA's excluded areas for US social security numbers and the HMRC letter rules for UK
National Insurance numbers. Names are a title or a cue ("my name is", "Thanks,") before capitalised
words, or a first name from Faker's lists of several locales followed by a capitalised surname.
Addresses are a house number, capitalised words and a street word. Where two finds overlap, the
kind earlier in PRIORITY wins (a card number is not also a phone).

    OwnRecognisers().find("Call Ana Ruiz on +44 20 7946 0321")
"""

from __future__ import annotations

import re
from functools import lru_cache

from seedfactory.validators.pii import Entity, iban_ok, luhn_ok

PRIORITY = ("email", "iban", "card", "national_id", "phone", "address", "person")
REGIONS = ["US", "GB", "IE", "DE", "FR"]

CARD = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])")
IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,32}\b")
SSN = re.compile(r"\b(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}\b")
NINO = re.compile(r"\b(?!BG|GB|NK|KN|TN|NT|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b")
NAME_WORD = r"[A-ZÀ-ÖØ-Þ][a-zß-öø-ÿ]+(?:[-'][A-ZÀ-ÖØ-Þ]?[a-zß-öø-ÿ]+)?"
TITLE = re.compile(rf"\b(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof)\.? ((?:{NAME_WORD})(?: {NAME_WORD}){{0,2}})")
CUE = re.compile(rf"(?:\b[Mm]y name is|\b[Nn]ame(?:'s| is)?:?|\bI'm|\bI am|\b[Tt]his is|\b[Ss]igned:?|\b[Rr]egards,|"
                 rf"\b[Tt]hanks,|\b[Cc]heers,|\b[Ff]rom:|\b[Cc]ontact:|\bfor|"
                 rf"\b(?:[Pp]atient|[Cc]ustomer|[Cc]lient|[Cc]aller|[Ee]mployee|[Pp]upil|[Ss]tudent|[Rr]esident|"
                 rf"[Mm]ember)(?:_name)?:?)\s+"
                 rf"((?:{NAME_WORD})(?: {NAME_WORD}){{0,2}})")
SPEAKING = re.compile(rf"\b((?:{NAME_WORD}) (?:{NAME_WORD})(?: {NAME_WORD})?),? (?:speaking|here)\b")
PAIR = re.compile(rf"\b({NAME_WORD}) ({NAME_WORD}(?: {NAME_WORD})?)")
STREET = (r"Street|St|Road|Rd|Avenue|Ave|Lane|Ln|Drive|Dr|Close|Way|Court|Ct|Place|Pl|Boulevard|Blvd|"
          r"Terrace|Crescent|Gardens|Square|Sq|Hill|Row|Parkway|Mews|Grove")
ADDRESS = re.compile(rf"\b\d{{1,5}}[A-Za-z]?,? (?:[A-Z][a-z]+ ){{1,3}}(?:{STREET})\b\.?"
                     r"(?:,? (?:[A-Z][a-z]+ ?){1,2})?(?:,? [A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}|,? [A-Z]{2} \d{5})?")
# words a cue may precede that are not names ("this is Monday", "I'm Sorry")
NOT_NAMES = {"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday", "January", "February",
             "March", "April", "May", "June", "July", "August", "September", "October", "November", "December",
             "Hello", "Hi", "Dear", "Thanks", "Thank", "Sorry", "Please", "The", "This", "That", "Urgent", "Not",
             "Just", "Still", "Re", "Subject", "Service", "Date", "Time", "Notes", "Ref", "Order", "Team", "Support",
             "Clinic", "Doctor", "Dentist", "Street", "Road", "Avenue", "Lane", "Yes", "No", "Booking", "Appointment"}


@lru_cache(maxsize=1)
def first_names() -> frozenset[str]:
    import importlib

    names: set[str] = set()
    for loc in ("en_US", "en_GB", "en_IE", "de_DE", "fr_FR", "es_ES", "it_IT", "pl_PL", "nl_NL", "pt_PT"):
        provider = importlib.import_module(f"faker.providers.person.{loc}").Provider
        for attr in ("first_names", "first_names_male", "first_names_female"):
            names.update(getattr(provider, attr, ()) or ())
    return frozenset(n for n in names if n not in NOT_NAMES and len(n) > 2)


def _iban(text: str) -> list[Entity]:
    out = []
    for m in IBAN.finditer(text):
        raw = m.group(0)
        # the pattern may run into the next capitalised word: shorten until the checksum holds
        for end in range(len(raw), 14, -1):
            piece = raw[:end].rstrip()
            if iban_ok(piece.replace(" ", "")):
                out.append(Entity("iban", m.start(), m.start() + len(piece), piece))
                break
    return out


def _names(text: str) -> list[Entity]:
    out = []
    for pattern in (TITLE, CUE, SPEAKING):
        for m in pattern.finditer(text):
            words = m.group(1).split()
            while words and words[-1] in NOT_NAMES:
                words.pop()
            if words and words[0] not in NOT_NAMES:
                value = " ".join(words)
                out.append(Entity("person", m.start(1), m.start(1) + len(value), value))
    known = first_names()
    for m in PAIR.finditer(text):
        if m.group(1) in known and m.group(2).split()[0] not in NOT_NAMES:
            words = [w for w in m.group(0).split() if w not in NOT_NAMES]
            value = " ".join(words)
            out.append(Entity("person", m.start(), m.start() + len(value), value))
    return out


DATE_LIKE = re.compile(r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}|\.\.|\d{1,2}[:h]\d{2}")


PHONE_CUE = re.compile(r"(?:call|phone|tel|mobile|cell|ring|text|number|reach|contact|fax|whatsapp)\W", re.IGNORECASE)


def _phones(text: str, found) -> list[Entity]:
    """phonenumbers' possible numbers less what is a date, a time or a reference: at least 9 digits, no
    date inside, not glued to letters, and written like a phone (+, ( or a trunk 0 first) or after a
    phone word ("call", "tel", "mobile", ...) in the 40 characters before."""
    out = []
    for m in found:
        before = text[max(0, m.start - 40):m.start]
        glued = m.start > 0 and (text[m.start - 1].isalnum() or text[m.start - 1] == "-")
        shaped = m.text.lstrip()[:1] in ("+", "(", "0") or PHONE_CUE.search(before)
        if sum(c.isdigit() for c in m.text) >= 9 and not DATE_LIKE.search(m.text) and shaped and not glued:
            cut = 1 if m.text.startswith("(") and ")" not in m.text else 0  # "(087 348 8524)" read from inside
            out.append(Entity("phone", m.start + cut, m.end, m.text[cut:]))
    return out


class OwnRecognisers:
    name = "own"

    def find(self, text: str) -> list[Entity]:
        from seedfactory.validators.value_contacts import emails_in, phones_in

        found = [Entity("email", m.start, m.end, m.text) for m in emails_in(text)]
        found += _iban(text)
        found += [Entity("card", m.start(), m.end(), m.group(0)) for m in CARD.finditer(text)
                  if luhn_ok(re.sub(r"\D", "", m.group(0)))]
        found += [Entity("national_id", m.start(), m.end(), m.group(0)) for p in (SSN, NINO) for m in p.finditer(text)]
        found += _phones(text, phones_in(text, REGIONS))
        found += [Entity("address", m.start(), m.end(), m.group(0)) for m in ADDRESS.finditer(text)]
        found += _names(text)
        return resolve(found)


def resolve(found: list[Entity]) -> list[Entity]:
    """Non-overlapping entities: by kind priority, then the longer find."""
    rank = {k: i for i, k in enumerate(PRIORITY)}
    kept: list[Entity] = []
    for e in sorted(found, key=lambda e: (rank[e.kind], -(e.end - e.start), e.start)):
        if all(e.end <= k.start or e.start >= k.end for k in kept):
            kept.append(e)
    return sorted(kept, key=lambda e: e.start)
