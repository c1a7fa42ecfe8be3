"""Benchmark: dates and times found in free text by this project's finder (validators/values.py:
dates_in, times_in) against dateparser's `search_dates` (and datefinder's `find_dates` where it is
installed), on 60 hand-written sentences with known dates and times, a few with none (prices,
version numbers, scores). Per tool: recall and precision of the date values and of the time
values over all sentences, and seconds per sentence. The year of a yearless date is 2027 for all
(our `year=`, dateparser's RELATIVE_BASE). An ambiguous form gives every reading in our finder
("half past two": 02:30 and 14:30); the extra reading counts against its precision. The sentences
were written by the finder's author after the finder: a fresh set from someone else is the fairer test.

    .venv/bin/python -m bench.values

Progress to stdout; the last line is one JSON object.
"""

from __future__ import annotations

import json
import time
from datetime import date, datetime
from datetime import time as clock

D, T = date, clock
BASE = datetime(2027, 1, 1)

# (sentence, dates stated, times stated)
CASES: list[tuple[str, set, set]] = [
    ("Can I book an appointment on March 3rd 2027 at 2:30pm?", {D(2027, 3, 3)}, {T(14, 30)}),
    ("I'd like to come in on 3rd March 2027, ideally 9am.", {D(2027, 3, 3)}, {T(9)}),
    ("Is the 8th of October 2027 free? Any time after noon works.", {D(2027, 10, 8)}, {T(12)}),
    ("Tuesday, 3 March 2027 at 14:30 please.", {D(2027, 3, 3)}, {T(14, 30)}),
    ("Moved to 3/3/27 at 10:15.", {D(2027, 3, 3)}, {T(10, 15)}),
    ("See you Aug 16, 2027 around 4 pm.", {D(2027, 8, 16)}, {T(16)}),
    ("Delivery on 16 August 2027 between 08:00 and 12:00.", {D(2027, 8, 16)}, {T(8), T(12)}),
    ("Rendez-vous le 12 mai 2027 à 14h30.", {D(2027, 5, 12)}, {T(14, 30)}),
    ("Termin am 3. März 2027 um 18.10 Uhr.", {D(2027, 3, 3)}, {T(18, 10)}),
    ("Meeting 2027-04-18T09:45 in room B.", {D(2027, 4, 18)}, {T(9, 45)}),
    ("Flight departs 2027-06-01 at 1430 hrs.", {D(2027, 6, 1)}, {T(14, 30)}),
    ("Could we do half past two in the afternoon on 5 July 2027?", {D(2027, 7, 5)}, {T(14, 30)}),
    ("Quarter to five on Friday 9 April 2027 suits me.", {D(2027, 4, 9)}, {T(16, 45), T(4, 45)}),
    ("Order placed 07-NOV-2027 14:22.", {D(2027, 11, 7)}, {T(14, 22)}),
    ("Invoice dated 14.03.2027, due 13.04.2027.", {D(2027, 3, 14), D(2027, 4, 13)}, set()),
    ("Total due: 18.10 EUR by 30 June 2027.", {D(2027, 6, 30)}, set()),
    ("Pay 1.250,00 EUR within 14 days.", set(), set()),
    ("Version 2.14 fixed the 3:2 layout bug.", set(), set()),
    ("Price 12.50 USD, 3 items, shipped fast.", set(), set()),
    ("The check-up is on Aug 16 at 11am.", {D(2027, 8, 16)}, {T(11)}),
    ("Please confirm 22 January 2027 at 8:30 a.m.", {D(2027, 1, 22)}, {T(8, 30)}),
    ("Wed, March 3rd, 2027 - 3:15 PM works.", {D(2027, 3, 3)}, {T(15, 15)}),
    ("On 2 February 2027 the shop opens at 7am.", {D(2027, 2, 2)}, {T(7)}),
    ("Call me at 5pm on 14 Feb 2027.", {D(2027, 2, 14)}, {T(17)}),
    ("Arrival 2027/09/05 21:10.", {D(2027, 9, 5)}, {T(21, 10)}),
    ("The webinar is December 1st, 2027 at 16:00 CET.", {D(2027, 12, 1)}, {T(16)}),
    ("Dinner on 19 Nov 2027 at 7:45pm.", {D(2027, 11, 19)}, {T(19, 45)}),
    ("Pick-up 23 October 2027, 06:30.", {D(2027, 10, 23)}, {T(6, 30)}),
    ("Trial ends on 31 May 2027 at midnight.", {D(2027, 5, 31)}, {T(0)}),
    ("Session on the 4th of June 2027 from 10am to 11:30am.", {D(2027, 6, 4)}, {T(10), T(11, 30)}),
    ("Cita el 3 de marzo de 2027 a las 16:00.", {D(2027, 3, 3)}, {T(16)}),
    ("Afspraak op 12 augustus 2027 om 09:15.", {D(2027, 8, 12)}, {T(9, 15)}),
    ("Appuntamento il 5 giugno 2027 alle 15:30.", {D(2027, 6, 5)}, {T(15, 30)}),
    ("Mötet är 7 september 2027 kl 13:00.", {D(2027, 9, 7)}, {T(13)}),
    ("Sent 19 Feb 2027, replied the next day.", {D(2027, 2, 19)}, set()),
    ("Check-in from 3 pm, check-out by 11 am, 10-12 March 2027.", {D(2027, 3, 10), D(2027, 3, 12)}, {T(15), T(11)}),
    ("Booked for Monday 15 March 2027, ten past nine in the morning.", {D(2027, 3, 15)}, {T(9, 10)}),
    ("Reminder: March 8, 2027 - 12:00 noon.", {D(2027, 3, 8)}, {T(12)}),
    ("Class 1 of 12 on 2027-01-11, 18:00 sharp.", {D(2027, 1, 11)}, {T(18)}),
    ("We close at 17:30 on 24/12/2027.", {D(2027, 12, 24)}, {T(17, 30)}),
    ("Your parcel arrives Thursday 7 January 2027.", {D(2027, 1, 7)}, set()),
    ("Meet me at three o'clock on 2 April 2027.", {D(2027, 4, 2)}, {T(15), T(3)}),
    ("Webinar: 2027-05-20 19:00-20:30.", {D(2027, 5, 20)}, {T(19), T(20, 30)}),
    ("Room 204, floor 3, building 7.", set(), set()),
    ("Score was 2-1 after 90 minutes.", set(), set()),
    ("The 2027 season starts 16 August.", {D(2027, 8, 16)}, set()),
    ("Available August 16th, 9:30am.", {D(2027, 8, 16)}, {T(9, 30)}),
    ("Depart 06:05, arrive 09:50 on 1 July 2027.", {D(2027, 7, 1)}, {T(6, 5), T(9, 50)}),
    ("Ship by 03.05.2027; ETA 10.05.2027.", {D(2027, 5, 3), D(2027, 5, 10)}, set()),
    ("Table for two on 14 February 2027 at 8 pm.", {D(2027, 2, 14)}, {T(20)}),
    ("The clinic opens 8:00 and closes 18:00.", set(), {T(8), T(18)}),
    ("Your slot: Sat 6 March 2027, 11:45.", {D(2027, 3, 6)}, {T(11, 45)}),
    ("Due 2027-02-28. Late fee 5%.", {D(2027, 2, 28)}, set()),
    ("On 1st December 2027 at 10 a.m. the doors open.", {D(2027, 12, 1)}, {T(10)}),
    ("Lunch at 12.30 Uhr am 9. Juli 2027.", {D(2027, 7, 9)}, {T(12, 30)}),
    ("Deadline: 15/11/2027 23:59.", {D(2027, 11, 15)}, {T(23, 59)}),
    ("Hand in by Friday, 5 November 2027, 17h.", {D(2027, 11, 5)}, {T(17)}),
    ("We spoke on 10 Jan 2027 about the 20.50 EUR refund.", {D(2027, 1, 10)}, set()),
    ("Kickoff on October 4, 2027, 9:00 AM PST.", {D(2027, 10, 4)}, {T(9)}),
    ("Service window 02:00-04:00 on 6 June 2027.", {D(2027, 6, 6)}, {T(2), T(4)}),
]


def ours(text: str) -> tuple[set, set]:
    from seedfactory.validators.values import dates_in, times_in

    return {m.value for m in dates_in(text, year=2027)}, {m.value for m in times_in(text)}


def dateparser_found(text: str) -> tuple[set, set]:
    from dateparser.search import search_dates

    found = search_dates(text, settings={"RELATIVE_BASE": BASE}) or []
    # a time alone is dated on the relative base, a date alone is at 00:00: neither is a finding
    dates = {dt.date() for _, dt in found if dt.date() != BASE.date()}
    times = {dt.time() for _, dt in found if dt.time() != clock(0)}
    return dates, times


def datefinder_found(text: str) -> tuple[set, set]:
    import datefinder

    found = list(datefinder.find_dates(text, base_date=BASE))
    return {dt.date() for dt in found if dt.date() != BASE.date()}, {dt.time() for dt in found if dt.time() != clock(0)}


def score(finder) -> dict:
    hits = {"date": [0, 0, 0], "time": [0, 0, 0]}  # found right, found, stated
    finder("warm up: 1 March 2027 at 9am")  # imports and first-call set-up are not timed
    start = time.perf_counter()
    misses = []
    for text, dates, times in CASES:
        got_dates, got_times = finder(text)
        for kind, want, got in (("date", dates, got_dates), ("time", times, got_times)):
            hits[kind][0] += len(want & got)
            hits[kind][1] += len(got)
            hits[kind][2] += len(want)
            if want - got:
                misses.append(text)
    seconds = (time.perf_counter() - start) / len(CASES)
    out = {kind: {"recall": round(r / s, 3) if s else None, "precision": round(r / f, 3) if f else None}
           for kind, (r, f, s) in hits.items()}
    return {**out, "seconds_per_sentence": round(seconds, 5), "missed": sorted(set(misses))[:8]}


def main() -> dict:
    results = {}
    for name, finder, module in (("seedfactory", ours, None), ("dateparser", dateparser_found, "dateparser"),
                                 ("datefinder", datefinder_found, "datefinder")):
        try:
            if module:
                __import__(module)
        except ImportError:
            results[name] = {"skipped": f"{module} is not installed"}
            continue
        results[name] = score(finder)
        r = results[name]
        print(f"{name:12s} dates R {r['date']['recall']} P {r['date']['precision']}   "
              f"times R {r['time']['recall']} P {r['time']['precision']}   {r['seconds_per_sentence']}s/sentence")
        for text in r["missed"]:
            print(f"    missed something in: {text}")
    summary = {"sentences": len(CASES), "tools": results}
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()
