"""Writes the bundled unlabelled pool for the appointment-requests seeds (seeds/pools/appointment-requests/).

Deterministic (one seeded RNG, hand-written frames, names and phrasings; no Faker, so the output does
not move with its version): `python scripts/make_pool.py` rewrites the committed files byte for byte.
The frames are layouts the seeds do not use (chatbot transcripts, questionnaires, forwarded chains,
pager lines, table rows, reschedules, referrals, ...), in JSONL, CSV, .txt, .md and .html files.
"""

from __future__ import annotations

import csv
import html
import json
import random
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "seeds" / "pools" / "appointment-requests"

NAMES = """Aoife Dunleavy|Bram Vermeulen|Carys Pritchard|Dariusz Kowalczyk|Elodie Marchetti|Fionnuala Breen|
Gustavo Pereira-Lima|Halima Yusuf|Ivo Stojanovic|Jessamy Crewe|Kofi Mensah|Leonie Hartmann|Malachy Quinlan|
Nkechi Eze|Oskar Lindgren|Perpetua Obi|Quentin Delacroix|Rosalind Achebe|Stellan Berg|Tamsin Howarth|
Umar Siddiqui|Vesna Horvat|Wendell Ashdown|Xiadani Morales|Yannick Brun|Zofia Majewska|Ambrose Kettering|
Bronagh Devlin|Cosimo Ferrante|Delphine Aubry|Eoin Fitzmaurice|Farida Nasser|Gideon Okoro|Henrike Vogel|
Isolde Fairweather|Jovan Petrovic|Kalinda Rao|Lorcan Whelan|Marisol Quintero|Niamh Carrick|Olamide Adebayo|
Pieter de Groot|Rhiannon Pugh|Sebastien Lacroix|Thandiwe Dube|Ulrich Baumann|Valeria Costa|Wilfred Ormsby|
Yasmin Haddad|Zenon Wisniewski|Agnieszka Nowak|Benedikt Huber|Cordelia Blythe|Dmitri Volkov|Emer Cassidy|
Florian Sauer|Grainne Moloney|Hugo Villeneuve|Ines Carvalho|Jarrah Williams""".replace("\n", "").split("|")

SERVICES = {
    "general_practice": ["a GP appointment", "to see a doctor", "a doctor's appointment", "a GP review",
                         "a general check-up with the GP"],
    "dental": ["a dentist appointment", "a dental check", "to see the dentist about a broken tooth",
               "a filling looked at", "a scale and polish"],
    "physiotherapy": ["physio", "a physiotherapy session", "physio for my ankle", "a physio assessment"],
    "dermatology": ["the skin clinic", "a dermatology appointment", "someone to look at a mole", "a skin check"],
    "eye_care": ["an eye test", "the optician", "an eye appointment", "new glasses (eye exam)"],
    "vaccination": ["a flu jab", "a vaccination", "my travel jabs", "a tetanus booster", "a covid booster"],
    "blood_test": ["a blood test", "bloods taken", "a fasting blood test", "a blood draw for my GP"],
}
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December"]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
SHORT = {"general_practice": "GP", "dental": "dentist", "physiotherapy": "physio", "dermatology": "skin clinic",
         "eye_care": "eye test", "vaccination": "vaccination", "blood_test": "blood test"}
URGENT = ["it's urgent", "as soon as possible please", "URGENT", "this is an emergency", "need it urgently"]
ROUTINE = ["no rush", "not urgent", "routine", "whenever suits", "it can wait"]


def date_forms(rng: random.Random) -> str:
    import datetime

    d = datetime.date(2027, 1, 1) + datetime.timedelta(days=rng.randrange(365))
    day = d.day
    suffix = "th" if 11 <= day <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    forms = [f"{MONTHS[d.month - 1]} {day}{suffix} {d.year}", f"{day} {MONTHS[d.month - 1][:3]} {d.year}",
             f"{d.year}/{d.month:02d}/{day:02d}", f"{day:02d}.{d.month:02d}.{d.year}",
             f"{WEEKDAYS[d.weekday()]} the {day}{suffix} of {MONTHS[d.month - 1]} {d.year}",
             f"{d.isoformat()}", f"{MONTHS[d.month - 1][:3]} {day}, {d.year}"]
    return rng.choice(forms)


def time_forms(rng: random.Random) -> str:
    h, m = rng.randrange(7, 19), rng.choice([0, 0, 15, 30, 45, 10, 50])
    twelve = h % 12 or 12
    ampm = "am" if h < 12 else "pm"
    forms = [f"{twelve}:{m:02d}{ampm}", f"{h:02d}:{m:02d}", f"{h}h{m:02d}", f"{twelve}.{m:02d} {ampm[0]}.m."]
    if m == 30:
        forms.append(f"half past {twelve} in the {'morning' if h < 12 else 'afternoon'}")
    if m == 0:
        forms.append(f"{twelve} o'clock" if h != 12 else "noon")
    return rng.choice(forms)


def phone(rng: random.Random) -> str:
    return rng.choice([f"+44 7700 900{rng.randrange(1000):03d}",
                       f"(555) 01{rng.randrange(10)}-{rng.randrange(10000):04d}",
                       f"087 {rng.randrange(100, 1000)} {rng.randrange(1000, 10000)}"])


def email(name: str, rng: random.Random) -> str:
    first, last = name.lower().replace("'", "").split()[0], name.lower().split()[-1].replace("'", "")
    return f"{first}.{last}@{rng.choice(['example.com', 'example.org', 'mail.example.net'])}"


FRAMES = [
    "Bot: Hi! What can I help with today?\nUser: {want}\nBot: Who is the appointment for?\nUser: {name}\n"
    "Bot: Which day?\nUser: {date}\nBot: And a time?\nUser: {time}\nBot: Anything else we should know?\nUser: {urg}",
    "Q1. Your full name? A: {name}\nQ2. What do you need? A: {want}\nQ3. Preferred date? A: {date}\n"
    "Q4. Preferred time? A: {time}\nQ5. Is it urgent? A: {yn}",
    "---------- Forwarded message ---------\nFrom: {name} <{email}>\nTo: bookings\n\nForwarding this from my phone. "
    "I need {want} on {date}, ideally {time}. {Urg}.",
    "APPT REQ | {NAME} | {svc} | {date} | {time} | {YN}",
    "| {date} | {time} | {name} | {want} | urgent: {yn} |",
    "Re: Your appointment reminder\n\n> Reply to this message to book your next visit.\n\nYes please, book {name} "
    "for {want}. {date} at {time} works. {Urg}.",
    "Good day. I am {name}. I want make appointment for {want} on {date}, hour {time}. {Urg}. Tel {phone}.",
    "I need to move my {svc_word} appointment to {date} at {time} please. Name is {name}. {Urg}.",
    "patient_name: {name}\nreq: {want}\nslot: {date} @ {time}\nflag: {flag}\ncontact: {phone}",
    "- who: {name}\n- what: {want}\n- when: {date}, {time}\n- urgent? {yn}",
    "ok so um this is a booking for {name}, uh, {want}, on {date}... {time} if that's free... {urg}, thanks bye",
    "Occupational health referral. Employee: {name}. Needs {want}. Requested {date} at {time}. {Urg}. "
    "Manager contact: {email}",
    "At {time} on {date}, {name} would like {want}. {Urg}.",
    "@clinic hey can u fit me in for {want} on {date}? {time} would be ideal. {urg} - {name}",
    "[handwritten note, scanned]\n{name} - {want} - {date} - {time} - {urg}",
    "From the out-of-hours line, log #{n}: caller {name} ({phone}) asked for {want}. Wants {date}, {time}. "
    "Caller says {urg}.",
    "School nurse referral: pupil {name} needs {want}. Parent asks for {date} at {time}. {Urg}.",
    "Dear bookings team,\n\nWriting on behalf of my mum, {name}: she needs {want}. Could you do {date} at {time}? "
    "{Urg}.\n\nKind regards\n{email}",
    "{date} / {time} / {name} / {want} / {urg}",
    "Hello hello! {name} here, long-time patient :) I'm after {want}. {date} is my day off, {time} would be perfect. "
    "{Urg}. You can text me on {phone}.",
]


def compose(i: int, rng: random.Random) -> str:
    name = rng.choice(NAMES)
    svc = rng.choice(sorted(SERVICES))
    urgent = rng.random() < 0.3
    urg = rng.choice(URGENT if urgent else ROUTINE)
    slots = {"name": name, "NAME": name.upper(), "want": rng.choice(SERVICES[svc]), "svc": svc.replace("_", " "),
             "svc_word": SHORT[svc], "date": date_forms(rng), "time": time_forms(rng),
             "urg": urg, "Urg": urg[0].upper() + urg[1:], "yn": "yes" if urgent else "no",
             "YN": "URGENT" if urgent else "ROUTINE", "flag": "URGENT" if urgent else "none",
             "phone": phone(rng), "email": email(name, rng), "n": 4000 + i}
    return FRAMES[i % len(FRAMES)].format(**slots)


def main() -> None:
    rng = random.Random(22)
    texts, seen = [], set()
    i = 0
    while len(texts) < 236:
        t = compose(i, rng)
        i += 1
        if t not in seen:
            seen.add(t)
            texts.append(t)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "notes").mkdir(exist_ok=True)
    with open(OUT / "requests.jsonl", "w") as f:
        for n, t in enumerate(texts[:170]):
            f.write(json.dumps({"id": f"req-{n:03d}", "text": t}, ensure_ascii=False) + "\n")
    with open(OUT / "requests.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["received", "message"])
        for n, t in enumerate(texts[170:226]):
            w.writerow([f"2026-12-{1 + n % 28:02d}", t])
    for n, t in enumerate(texts[226:232]):
        (OUT / "notes" / f"note-{n + 1}.txt").write_text(t + "\n")
    for n, t in enumerate(texts[232:234]):
        (OUT / "notes" / f"desk-{n + 1}.md").write_text(f"# Desk message\n\n{t}\n")
    for n, t in enumerate(texts[234:236]):
        body = "".join(f"<p>{html.escape(line)}</p>" for line in t.split("\n"))
        (OUT / "notes" / f"webform-{n + 1}.html").write_text(
            f"<html><head><title>Booking</title><script>track('visit')</script></head>"
            f"<body><main><article>{body}</article></main></body></html>\n")


if __name__ == "__main__":
    main()
