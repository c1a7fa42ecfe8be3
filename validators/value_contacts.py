"""E-mail addresses, phone numbers and URLs in text, compared the way they are equal.

    emails_in("write to Ana.Ruiz@Example.org")   # value "ana.ruiz@example.org" (compared casefolded)
    phones_in("call 020 7946 0321", ["GB"])      # value "+442079460321" (E.164)
    urls_in("see www.example.org/help.")         # value "example.org/help" (no scheme, www or end slash)

Phones are read by phonenumbers' PhoneNumberMatcher at POSSIBLE leniency (seed sets use the
invented numbers that VALID rejects, like 555 numbers); a number written with "+" is read in any
region, a national one in the regions given (a phone value's own region is added by the caller).
"""

from __future__ import annotations

import re

from seedfactory.validators.values import Mention

_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[a-zA-Z]{2,}(?![\w-])")
# a bare domain ends in a common generic TLD or a two-letter one, but not a file extension ("notes.md")
_URL = re.compile(r"(?<![\w@.])(?:https?://|www\.)[^\s<>\"')\]]+|(?<![\w@.-])(?:[a-z0-9-]+\.)*[a-z0-9-]{3,}\.(?:(?:co|com|org|net|ac|gov)\.)?"
                  r"(?!(?:md|py|js|ts|sh|rb|rs|cs|db|gz|xz|js|vb|h)\b)(?:com|org|net|info|biz|dev|app|shop|[a-z]{2})"
                  r"(?:/[^\s<>\"')\]]*)?(?![\w@-])", re.IGNORECASE)


def emails_in(text: str) -> list[Mention]:
    return [Mention(m.start(), m.end(), m.group(0), m.group(0).casefold(), None) for m in _EMAIL.finditer(text)]


def norm_url(url: str) -> str:
    """A URL as compared: no scheme, no "www.", host lowercased, no trailing slash or sentence stop."""
    url = re.sub(r"^https?://", "", url.strip(), flags=re.IGNORECASE).rstrip(".,;:!?/")
    host, slash, path = url.partition("/")
    host = host.lower().removeprefix("www.")
    return host + (slash + path.rstrip("/") if path.rstrip("/") else "")


def urls_in(text: str) -> list[Mention]:
    out = []
    for m in _URL.finditer(text):
        token = m.group(0).rstrip(".,;:!?")
        out.append(Mention(m.start(), m.start() + len(token), token, norm_url(token), None))
    return out


def e164(value: str, regions: list[str] | None = None) -> str | None:
    """A phone value as E.164, read with "+" in any region, else in each region given in turn."""
    import phonenumbers

    for region in (regions or []) + [None]:
        try:
            number = phonenumbers.parse(value, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_possible_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return None


def region_of(value: str) -> str | None:
    """The region of a phone value written with its country code ("+44 ..." -> "GB")."""
    import phonenumbers

    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(value, None))
    except phonenumbers.NumberParseException:
        return None


def phones_in(text: str, regions: list[str] | None = None) -> list[Mention]:
    """Every phone number in the text, as E.164; one read in several regions gives each reading."""
    import phonenumbers

    out: dict[tuple[int, int, str], Mention] = {}
    for region in list(dict.fromkeys(regions or [])) or ["ZZ"]:  # "ZZ": only numbers written with "+"
        for match in phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.POSSIBLE):
            if sum(c.isdigit() for c in match.raw_string) < 7:
                continue
            value = phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
            out.setdefault((match.start, match.end, value),
                           Mention(match.start, match.end, match.raw_string, value, region))
    return sorted(out.values(), key=lambda m: m.start)


def phone_forms(value: str, regions: list[str] | None = None) -> list[str]:
    """National, international and E.164 forms of a phone value."""
    import phonenumbers

    number = phonenumbers.parse(value, (regions or [None])[0])
    fmts = [phonenumbers.PhoneNumberFormat.INTERNATIONAL, phonenumbers.PhoneNumberFormat.NATIONAL,
            phonenumbers.PhoneNumberFormat.E164]
    return list(dict.fromkeys(phonenumbers.format_number(number, f) for f in fmts))
