"""Small hand-made seed sets of different shapes for tests/test_kinds.py and tests/test_draw.py:
appointment requests (a person, a department label, a nullable ISO date, an HH:MM time, a flag,
a phone, an e-mail) and orders (an order code, money with cents, a count, a weight, a discount)."""

from __future__ import annotations

from seedfactory.schemas import SeedExample

PEOPLE = ["Maria Garcia", "James Smith", "Linda Johnson", "Robert Brown", "Patricia Miller", "Michael Davis",
          "Jennifer Wilson", "David Moore", "Susan Taylor", "Thomas Anderson", "Karen Thomas", "Daniel Jackson"]
DEPTS = ["cardiology", "dermatology", "cardiology", "radiology", "cardiology", "dermatology",
         "radiology", "cardiology", "dermatology", "cardiology", "radiology", "cardiology"]
DATES = ["2027-03-03", "2027-03-08", None, "2027-04-12", "2027-04-20", "2027-05-02",
         "2027-05-17", None, "2027-06-09", "2027-06-21", "2027-07-01", "2027-07-15"]
TIMES = ["14:30", "09:00", "10:15", "16:45", "08:30", "11:00", "13:15", "15:30", "09:45", "12:00", "17:15", "10:30"]
PHONES = ["+44 20 7946 0321", "+44 20 7946 0112", "+44 161 496 0753", "+44 20 7946 0958", "+44 117 496 0420",
          "+44 20 7946 0671", "+44 161 496 0288", "+44 20 7946 0845", "+44 131 496 0112", "+44 20 7946 0390",
          "+44 121 496 0555", "+44 20 7946 0733"]

APPOINTMENT_SCHEMA = {
    "type": "object",
    "properties": {
        "patient": {"type": "string"},
        "department": {"type": "string", "enum": ["cardiology", "dermatology", "radiology", "neurology"]},
        "date": {"type": ["string", "null"]},
        "time": {"type": "string", "pattern": "^[0-2][0-9]:[0-5][0-9]$"},
        "slot": {"type": "string"},  # the same times with no pattern: still a time, never a code
        "urgent": {"type": "boolean"},
        "phone": {"type": "string"},
        "email": {"type": "string"},
    },
}


def appointment_seeds() -> list[SeedExample]:
    out = []
    for i, (name, dept, day, t, phone) in enumerate(zip(PEOPLE, DEPTS, DATES, TIMES, PHONES)):
        first, last = name.lower().split()
        email = f"{first}.{last}@example.org" if i % 2 else f"{first[0]}{last}@mailbox.co.uk"
        when = f"on {day} at {t}" if day else f"at {t} whenever you can"
        text = (f"Hello, this is {name}. Could I see someone in {dept} {when}? "
                f"{'It is urgent. ' if i % 3 == 0 else ''}You can reach me on {phone} or {email}.")
        out.append(SeedExample(id=f"apt-{i:02d}", instruction="Extract the appointment request as JSON.",
                               input=text, output={"patient": name, "department": dept, "date": day, "time": t,
                                                   "slot": t, "urgent": i % 3 == 0, "phone": phone,
                                                   "email": email}))
    return out


CODES = ["ORD-2024-0193", "ORD-2024-0207", "ORD-2023-1188", "ORD-2024-0311", "ORD-2024-0412", "ORD-2023-0999",
         "ORD-2024-0520", "ORD-2024-0633", "ORD-2024-0718", "ORD-2023-1201", "ORD-2024-0804", "ORD-2024-0902"]
TOTALS = [1487.5, 9.6, 14.48, 1037.76, 1550.0, 6.8, 4500.0, 149.94, 100.0, 649.0, 2460.0, 301.71]
ITEMS = [3, 1, 2, 12, 5, 1, 4, 7, 2, 9, 6, 3]
WEIGHTS = [2.5, 0.4, 1.2, 12.0, 5.5, 0.3, 3.8, 7.1, 1.5, 9.0, 6.2, 2.9]
DISCOUNTS = [10, 0, 5, 15, 20, 0, 10, 25, 5, 10, 15, 0]
CURRENCY = ["EUR", "USD", "GBP", "€", "$", "£"]


def order_seeds() -> list[SeedExample]:
    out = []
    for i, (code, total, items, kg, off) in enumerate(zip(CODES, TOTALS, ITEMS, WEIGHTS, DISCOUNTS)):
        cur = CURRENCY[i % len(CURRENCY)]
        money = f"{cur} {total:.2f}" if len(cur) == 3 else f"{cur}{total:.2f}"
        text = (f"Order {code}: {items} items, parcel weight {kg} kg, {off}% off, total {money}. "
                f"Please ship soon.")
        out.append(SeedExample(id=f"ord-{i:02d}", instruction="Extract the order as JSON.", input=text,
                               output={"order": code, "total": total, "items": items, "weight": kg,
                                       "discount": off}))
    return out


ORDER_SCHEMA = {"type": "object", "properties": {
    "order": {"type": "string"}, "total": {"type": "number"}, "items": {"type": "integer"},
    "weight": {"type": "number"}, "discount": {"type": "number"}}}


US_PHONES = ["(415) 555-0132", "(212) 555-0187", "(312) 555-0199", "(646) 555-0142", "(415) 555-0110"]
MISC_SCHEMA = {"type": "object", "properties": {
    "phone": {"type": "string"}, "wait": {"type": "string"}, "at": {"type": "string"},
    "amount": {"type": "string"}, "pickup": {"type": "string"}, "guests": {"type": "integer"}}}


def misc_seeds() -> list[SeedExample]:
    """National phone numbers, ISO durations and datetimes, "250 g" strings, 12-hour times."""
    return [SeedExample(id=f"m{i}", instruction="Extract the booking.",
                        input=f"Table for {2 + i} guests. Please call me back at {p}, thanks for your help today.",
                        output={"phone": p, "wait": f"PT{15 * (i + 1)}M", "at": f"2027-03-0{i + 1}T1{i}:30:00Z",
                                "amount": f"{250 * (i + 1)} g", "pickup": f"{i + 1}:30 PM", "guests": 2 + i})
            for i, p in enumerate(US_PHONES)]
