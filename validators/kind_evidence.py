"""Evidence for field kinds that no regular expression gives: which names are people, companies or
places (compared with Faker's lists of real names for the seeds' locales), which locales the seeds'
inputs are written in, what stands next to a number in its input (a currency, a unit, a per cent
sign), the shape of a code, and phone numbers (phonenumbers).

    locales_of(["Sehr geehrte Damen und Herren, ..."])   # ["de_DE"]
    name_kind("Krämer Druck GmbH", ["de_DE", "en_US"])   # "organisation"
    code_shape("RE-2024-0193")                            # "A-9-9"

Nothing here knows a domain: the words come from Faker (real first names, company legal forms,
cities of each locale) and from international standards (ISO 4217 currency codes, time units).
"""

from __future__ import annotations

import importlib
import re
import unicodedata
from collections import Counter
from functools import lru_cache

# ISO 4217 codes in common use: three capitals next to a number are a currency only if listed.
CURRENCIES = frozenset(
    "EUR USD GBP CHF SEK NOK DKK PLN CZK HUF RON BGN ISK CAD AUD NZD JPY CNY HKD SGD INR KRW TWD THB MYR IDR PHP "
    "VND ZAR NGN KES EGP MAD TRY ILS AED SAR QAR BRL MXN ARS CLP COP PEN UAH RUB".split())
# Time units in the languages the value finder reads; a number followed by one is a duration.
TIME_UNITS = frozenset(
    "s sec secs second seconds min mins minute minutes h hr hrs hour hours d day days wk week weeks month months "
    "year years sek sekunden minuten std stunde stunden tag tage woche wochen monat monate jahr jahre heure heures "
    "jour jours semaine semaines mois an ans minuto minutos hora horas día días semana semanas minuti ore giorni "
    "uur uren dag dagen dagar timmar timer".split())
# Unit words longer than three letters; shorter letter tokens after a number (kg, ml, pcs) count too.
UNIT_WORDS = frozenset(
    "cup cups tbsp tsp litre litres liter liters gram grams kilogram kilograms metre metres meter meters inch "
    "inches pound pounds ounce ounces piece pieces pack packs kwh sqft stück".split())

_LANG_LOCALE = {"en": "en_US", "da": "da_DK", "sv": "sv_SE", "nb": "no_NO", "no": "no_NO", "ja": "ja_JP",
                "cs": "cs_CZ", "el": "el_GR", "zh": "zh_CN", "ko": "ko_KR", "uk": "uk_UA", "hi": "hi_IN"}


def faker_locale(lang: str) -> str | None:
    """The Faker locale for a language code: de -> de_DE, en -> en_US; None when Faker has none."""
    from faker.config import AVAILABLE_LOCALES

    for cand in (_LANG_LOCALE.get(lang), f"{lang}_{lang.upper()}"):
        if cand in AVAILABLE_LOCALES:
            return cand
    same = sorted(loc for loc in AVAILABLE_LOCALES if loc.startswith(lang + "_"))
    return same[0] if same else None


def locales_of(texts: list[str]) -> list[str]:
    """Faker locales of the texts' languages (py3langid), most common first; en_US when none is known."""
    import py3langid

    langs = Counter(py3langid.classify(t)[0] for t in texts if t.strip())
    # a language of a single seed is noise of the classifier as often as it is a locale
    out = [loc for lang, k in langs.most_common(4) if k >= max(2, 0.05 * len(texts)) and (loc := faker_locale(lang))]
    return list(dict.fromkeys(out)) or ["en_US"]


def _provider(kind: str, locale: str):
    try:
        return importlib.import_module(f"faker.providers.{kind}.{locale}").Provider
    except ImportError:
        return None


def _words(values) -> set[str]:
    return {fold(w) for v in values for w in str(v).split()}


def _strings(values) -> set[str]:
    """Folded strings of a Faker list, dict (keys) or tuple of tuples ((code, name), ...)."""
    items = values.keys() if isinstance(values, dict) else values
    out = set()
    for v in items:
        out |= _strings(v) if isinstance(v, (tuple, list)) else {fold(v)} if isinstance(v, str) else set()
    return out


# Faker's lists of real place names, under the names its address providers give them
_PLACE_LISTS = ("cities", "city_names", "real_city_names", "metropolitan_cities", "towns", "villages", "places",
                "states", "provinces", "regions", "region_names", "cantons", "municipalities", "departments",
                "prefectures", "countries")


@lru_cache(maxsize=None)
def lexicon(locales: tuple[str, ...]) -> dict[str, frozenset[str]]:
    """Folded words Faker knows: first and last names of the locales (plus en_US), and from every
    locale company legal forms, places (cities, regions, countries) and street words."""
    from faker.config import AVAILABLE_LOCALES

    # every locale of the seeds' languages: English texts name people from en_IN, en_NG, en_PH too
    langs = {loc.split("_")[0] for loc in [*locales, "en_US"]}
    romanized = ("ja_JP", "zh_CN", "zh_TW")  # names in Latin letters from locales of other scripts
    first, last = set(), set()
    for loc in AVAILABLE_LOCALES:
        p = _provider("person", loc) if loc.split("_")[0] in langs or loc in romanized else None
        if p is None:
            continue
        if loc in romanized:
            first |= _words(_strings(getattr(p, "first_romanized_names", ())))
            last |= _words(_strings(getattr(p, "last_romanized_names", ())))
            continue
        for attr in ("first_names", "first_names_male", "first_names_female"):
            first |= _words(_strings(getattr(p, attr, ())))
        last |= _words(_strings(getattr(p, "last_names", ())))
    return {"first": frozenset(first), "last": frozenset(last), **_world()}


@lru_cache(maxsize=1)
def _world() -> dict[str, frozenset[str]]:
    """Places, streets and legal forms from every locale: a GmbH or a Paris is one anywhere."""
    from faker.config import AVAILABLE_LOCALES

    suffixes, places, streets = set(), set(), set()
    for loc in AVAILABLE_LOCALES:
        if c := _provider("company", loc):
            suffixes |= {s for s in _strings(getattr(c, "company_suffixes", ())) if s}
        if a := _provider("address", loc):
            for attr in _PLACE_LISTS:
                places |= _strings(getattr(a, attr, ()))
            for attr in ("street_suffixes", "street_prefixes", "street_suffixes_long", "street_suffixes_short"):
                streets |= _words(_strings(getattr(a, attr, ())))
    return {"suffix": frozenset(suffixes), "place": frozenset(places - {""}), "street": frozenset(streets - {""})}


def fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold().strip(" ,.")


def _is_street(word: str, streets: frozenset[str]) -> bool:
    """A street word of Faker's ("avenue", "rue") or a compound ending in one ("hauptstraße")."""
    if not word.isalpha():
        return False
    return word in streets or (len(word) >= 7 and any(word.endswith(s) for s in streets if len(s) >= 4))


def name_kind(value: str, locales: list[str]) -> str | None:
    """'person', 'organisation', 'place' or None for a short name-like string, by its words."""
    words = value.split()
    if not words or len(words) > 12 or "@" in value:
        return None
    lex = lexicon(tuple(locales))
    folded = [fold(w) for w in words]
    if any(c.isdigit() for c in value):  # only an address holds a number: "12 High Street, Bath"
        return "place" if any(_is_street(w, lex["street"]) for w in folded) else None
    if len(words) > 8:
        return None
    # a legal form is the name's tail: one word ("GmbH") or several ("Sp. z o.o.", "Pty Ltd")
    if any(" ".join(folded[i:]) in lex["suffix"] or fold(" ".join(words[i:])) in lex["suffix"]
           for i in range(1, len(words))):
        return "organisation"
    if fold(value) in lex["place"]:
        return "place"
    if 2 <= len(words) <= 4 and (folded[0] in lex["first"] or folded[0].split("-")[0] in lex["first"]) and (
            folded[-1] in lex["last"] or folded[-1] in lex["first"]
            # two words: a known first name and a capitalised surname Faker does not list
            or (len(words) == 2 and words[1][:1].isupper() and words[1].replace("-", "").replace("'", "").isalpha())):
        return "person"
    return None


def field_name_kind(values: list[str], locales: list[str]) -> tuple[str | None, str]:
    """The name kind most of the values have, with the evidence; None when none leads."""
    votes = Counter(name_kind(v, locales) for v in values)
    n = len(values)
    for kind, need in (("organisation", 1 / 3), ("person", 1 / 2), ("place", 1 / 2)):
        if votes[kind] and votes[kind] >= need * n:
            return kind, f"{votes[kind]}/{n} seed values read as {kind} names (Faker lists for {', '.join(locales)})"
    return None, ""


# ---- next to a number in its input ---------------------------------------------------------------

_TOKEN_AFTER = re.compile(r"\s?(°[CFcf]?|[^\W\d_]{1,12}|%|‰)", re.UNICODE)
_TOKEN_BEFORE = re.compile(r"([A-Z]{3}|[^\w\s])\s?$")


def context_of(text: str, start: int, end: int) -> dict:
    """What stands around a number written at text[start:end]: currency, per cent, the next word."""
    after = _TOKEN_AFTER.match(text, end)
    word = after.group(1) if after else ""
    window = text[max(0, start - 6):start] + " " + text[end:end + 6]
    currency = any(unicodedata.category(c) == "Sc" for c in window) or any(
        t in CURRENCIES for t in re.findall(r"[A-Z]{3}", window))
    return {"currency": currency, "percent": word in ("%", "‰"), "word": word.casefold()}


def is_unit(word: str) -> bool:
    return bool(word) and word not in CURRENCIES and word.upper() not in CURRENCIES and (
        len(word) <= 3 or word in UNIT_WORDS or word in TIME_UNITS)


# ---- codes and phones ----------------------------------------------------------------------------

def code_shape(value: str) -> str:
    """Runs of digits -> 9, of capitals -> A, of small letters -> a; anything else as it is."""
    out = []
    for ch in value:
        cls = "9" if ch.isdigit() else "A" if ch.isupper() else "a" if ch.isalpha() else ch
        if not out or out[-1] != cls or cls not in "9Aa":
            out.append(cls)
    return "".join(out)


def phone_regions(values: list[str], locales: list[str]) -> list[str]:
    """Regions of the seeds' phone numbers: from a +country code, else the locales' countries."""
    import phonenumbers

    fallback = [loc.split("_")[1] for loc in locales if "_" in loc] or ["US"]
    regions = []
    for v in values:
        for region in [None, *fallback]:
            try:
                num = phonenumbers.parse(v, region)
            except phonenumbers.NumberParseException:
                continue
            if phonenumbers.is_possible_number(num):
                regions.append(phonenumbers.region_code_for_number(num) or fallback[0])
                break
    return [r for r, _ in Counter(regions).most_common()] or fallback


def parse_phone(value: str, regions: list[str], loose: bool = False):
    """The phonenumbers object of a possible phone number in one of the regions, else None. Loose:
    also any "+CC ..." number with a real country code and 7-15 digits in all (E.164): a check of
    well-formedness that phonenumbers' length tables (stricter than what people print) do not decide."""
    import phonenumbers

    if len(re.sub(r"\D", "", value)) < 6 or re.search(r"[^\d\s+()./-]", value.replace("ext", "")):
        return None
    for region in [None, *regions]:
        try:
            num = phonenumbers.parse(value, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_possible_number(num):
            return num
        digits = len(str(num.country_code)) + len(str(num.national_number))
        if (loose and value.lstrip().startswith("+") and 7 <= digits <= 15
                and phonenumbers.region_code_for_country_code(num.country_code) != "ZZ"):
            return num
    return None
