"""Benchmark: document_qa's support check (generators/document_qa.py `unsupported`) on the bundled
clinic documents (seeds/pools/clinic-docs/, read by paragraph as a pool): answers the paragraph
supports against planted unsupported ones (a changed number, a name not in it, an invented claim).
Prints the share of planted answers caught (`unsupported_by_source`) and of supported ones wrongly
flagged, per planted kind. Last line JSON.

    OMP_NUM_THREADS=1 .venv/bin/python -m bench.document_qa
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from seedfactory.generators.document_qa import unsupported
from seedfactory.generators.pool import ingest
from seedfactory.generators.pool_read import pool_files
from seedfactory.schemas import RejectLog
from seedfactory.schemas.config import PoolConfig

ROOT = Path(__file__).resolve().parents[1]
THRESHOLD = 0.5  # the strategy's default when no seed answers from an input

# (phrase locating the paragraph, answer, None if supported else the planted kind)
CASES = [
    ("Please cancel at least", "Cancel at least 24 hours before the appointment.", None),
    ("Please cancel at least", "There is no charge for cancelling.", None),
    ("Please cancel at least", "Cancel at least 48 hours before the appointment.", "number"),
    ("Please cancel at least", "A cancellation costs 25 pounds.", "number"),
    ("Please cancel at least", "After a second missed appointment within 12 months, bookings must be made at the "
                               "front desk.", None),
    ("Please cancel at least", "After a third missed appointment you are removed from the clinic list.", "claim"),
    ("Routine appointments are offered", "Routine appointments are offered within ten working days.", None),
    ("Routine appointments are offered", "Urgent requests are triaged by a nurse the same day.", None),
    ("Routine appointments are offered", "Urgent requests are triaged by Dr Okafor before noon.", "name"),
    ("Routine appointments are offered", "Routine appointments are offered within 3 days.", "number"),
    ("A relative or carer may book", "Yes, a relative or carer may book, in the patient's name.", None),
    ("A relative or carer may book", "A carer books in their own name and pays a deposit online.", "claim"),
    ("Blood tests are taken between", "Blood tests are taken between 7:30 am and 11 am.", None),
    ("Blood tests are taken between", "Blood tests are taken between 8 am and 2 pm.", "number"),
    ("Blood tests are taken between", "The clinic offers physiotherapy, dermatology and eye care.", None),
    ("Blood tests are taken between", "The clinic offers cardiology and Pilates classes with Maria.", "name"),
    ("Saturday: 9 am", "On Saturday the clinic opens 9 am to 1 pm, for vaccinations and blood tests only.", None),
    ("Saturday: 9 am", "On Saturday the clinic opens 10 am to 4 pm.", "number"),
    ("Saturday: 9 am", "On Sundays the clinic is closed; call the out-of-hours line.", None),
    ("Saturday: 9 am", "On Sundays a locum from Belfast runs a walk-in session.", "name"),
    ("The physiotherapy gym closes", "The last eye test starts at 5:15 pm because the drops take about 30 minutes.",
     None),
    ("The physiotherapy gym closes", "The physiotherapy gym closes at 8 pm.", "number"),
    ("The physiotherapy gym closes", "The gym is closed for renovation throughout winter and spring.", "claim"),
    ("Parking:", "There are 40 parking spaces behind the building, free for the first 2 hours.", None),
    ("Parking:", "There are 60 parking spaces, free all day.", "number"),
    ("Arrive 10 minutes", "Arrive 10 minutes before, or 15 minutes before a first physiotherapy assessment.", None),
    ("Arrive 10 minutes", "Arrive half an hour early and bring photo identification and insurance papers.", "claim"),
    ("Only for fasting tests", "Only for fasting tests such as glucose and cholesterol: water only for 10 to 12 hours.",
     None),
    ("Only for fasting tests", "Fast for 24 hours before any blood test.", "number"),
    ("Only for fasting tests", "Your confirmation from Harbourside says whether the test is a fasting one.", "name"),
    ("Flu, covid boosters", "Travel vaccines need an appointment at least 6 weeks before you travel.", None),
    ("Flu, covid boosters", "The clinic gives flu, covid boosters, tetanus, shingles and HPV vaccines.", None),
    ("Flu, covid boosters", "Travel vaccines need an appointment at least 2 weeks before travel.", "number"),
    ("Flu, covid boosters", "The clinic gives yellow fever and rabies vaccines through Pfizer partners.", "name"),
    ("A child under 16", "A child under 16 must come with a parent or guardian.", None),
    ("A child under 16", "Children under 12 may come alone with a signed letter.", "number"),
    ("A child under 16", "Teenagers can book online themselves and attend without anyone, any weekday.", "claim"),
    ("Appointments at Harbourside", "Appointments can be booked by phone, through the web form or at the front desk.",
     None),
    ("Appointments at Harbourside", "Appointments can be booked by email and by the mobile app, day or night.",
     "claim"),
    ("Appointments at Harbourside", "Appointments can be booked at Kingston reception.", "name"),
]


def main(argv: list[str] | None = None) -> dict:
    items, _ = ingest(pool_files(str(ROOT / "seeds" / "pools" / "clinic-docs")), PoolConfig(unit="paragraph"),
                      RejectLog(), lambda m: None)
    caught, flagged, planted, supported = Counter(), 0, Counter(), 0
    for phrase, answer, kind in CASES:
        source = next(it.text for it in items if phrase in it.text)
        why = unsupported(answer, source, THRESHOLD)
        if kind is None:
            supported += 1
            flagged += why is not None
            if why:
                print(f"  false alarm: {answer!r}: {why}")
        else:
            planted[kind] += 1
            caught[kind] += why is not None
            if not why:
                print(f"  missed ({kind}): {answer!r}")
    per_kind = {k: f"{caught[k]}/{n}" for k, n in sorted(planted.items())}
    out = {"bench": "document_qa", "paragraphs": len(items), "supported": supported, "planted": sum(planted.values()),
           "caught_share": round(sum(caught.values()) / sum(planted.values()), 3), "caught_per_kind": per_kind,
           "false_alarm_share": round(flagged / supported, 3), "threshold": THRESHOLD}
    print(f"planted unsupported caught: {sum(caught.values())}/{sum(planted.values())} {per_kind}; "
          f"supported flagged: {flagged}/{supported}")
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    main()
