"""The calendar API of the bundled `calendar-tools` seed set (its tools in calendar-tools.tools.json),
implemented in memory so evaluation can run a student's calls and compare their results with the
reference's (execution match).

Every `execute` starts from the same calendar: events EV-1000 to EV-1099, one per day from 1 March
2027 at 09:00, 30 minutes each. A call's result is what the API returns (an event, a list of events,
a confirmation) or `{"error": ...}`; a later call in the same list sees what earlier ones did.

    execute([{"name": "cancel_event", "arguments": {"event_id": "EV-1042"}},
             {"name": "list_events", "arguments": {"date": "2027-04-12"}}])
"""

from __future__ import annotations

from datetime import date, timedelta

START = date(2027, 3, 1)


def fresh_calendar() -> dict[str, dict]:
    events = {}
    for i in range(100):
        day = (START + timedelta(i)).isoformat()
        events[f"EV-{1000 + i}"] = {"id": f"EV-{1000 + i}", "title": f"Event {i}", "date": day, "start_time": "09:00",
                                    "duration_minutes": 30, "attendees": [], "location": None, "reminders": []}
    return events


def _event(cal: dict, event_id: str) -> dict | None:
    return cal.get(event_id)


def create_event(cal: dict, title: str, date: str, start_time: str, duration_minutes: int = 30,
                 attendees: list[str] | None = None, location: str | None = None) -> dict:
    event_id = f"EV-{2000 + sum(1 for k in cal if k >= 'EV-2000')}"
    cal[event_id] = {"id": event_id, "title": title.strip(), "date": date, "start_time": start_time,
                     "duration_minutes": duration_minutes, "attendees": sorted(a.lower() for a in attendees or []),
                     "location": location.strip() if location else None, "reminders": []}
    return cal[event_id]


def list_events(cal: dict, date: str) -> list[dict]:
    return sorted((e for e in cal.values() if e["date"] == date), key=lambda e: (e["start_time"], e["id"]))


def cancel_event(cal: dict, event_id: str) -> dict:
    if event_id not in cal:
        return {"error": f"no event {event_id}"}
    del cal[event_id]
    return {"cancelled": event_id}


def move_event(cal: dict, event_id: str, new_date: str, new_time: str | None = None) -> dict:
    event = _event(cal, event_id)
    if event is None:
        return {"error": f"no event {event_id}"}
    event["date"] = new_date
    if new_time:
        event["start_time"] = new_time
    return dict(event)


def set_reminder(cal: dict, event_id: str, minutes_before: int) -> dict:
    event = _event(cal, event_id)
    if event is None:
        return {"error": f"no event {event_id}"}
    event["reminders"] = sorted({*event["reminders"], minutes_before})
    return {"event": event_id, "reminders": event["reminders"]}


FUNCTIONS = {f.__name__: f for f in (create_event, list_events, cancel_event, move_event, set_reminder)}


def execute(calls: list[dict]) -> list:
    """Each call's result, in order, on a fresh calendar (module docstring). An unknown tool or
    arguments the function does not take give an error result, not an exception."""
    cal, results = fresh_calendar(), []
    for call in calls:
        fn = FUNCTIONS.get(call.get("name"))
        if fn is None:
            results.append({"error": f"no tool {call.get('name')!r}"})
            continue
        try:
            results.append(fn(cal, **call.get("arguments", {})))
        except TypeError as e:
            results.append({"error": str(e)})
    return results
