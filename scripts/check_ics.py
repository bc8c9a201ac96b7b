#!/usr/bin/env python3
"""Parse the routine planner's iCalendar output with the `icalendar` package.

Runs `exoskin routine examples/routines/weekly_with_microneedling.toml --json --ics FILE`,
parses FILE with icalendar (in .venv-stats, the virtual environment of
check_stats_reference.py, with icalendar added) and checks one VEVENT per morning or evening
session of the JSON plan, each with a start, a summary and a description listing every step
of that session, and the patch tests among them.
Exit code 0 when all checks pass.
"""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_stats_reference import PY, ROOT, ensure_venv  # noqa: E402

ROUTINE = os.path.join(ROOT, "examples", "routines", "weekly_with_microneedling.toml")


def ensure_icalendar():
    ensure_venv()  # re-runs this script inside .venv-stats
    try:
        import icalendar  # noqa: F401
    except ImportError:
        subprocess.run([PY, "-m", "pip", "install", "-q", "icalendar"], check=True)
        os.execv(PY, [PY] + sys.argv)


def main():
    ensure_icalendar()
    import icalendar

    with tempfile.TemporaryDirectory() as tmp:
        ics_path = os.path.join(tmp, "plan.ics")
        out = subprocess.run(
            ["cargo", "run", "--release", "-q", "-p", "exoskin", "--",
             "routine", ROUTINE, "--json", "--ics", ics_path],
            cwd=ROOT, check=True, capture_output=True, text=True,
        ).stdout
        plan = json.loads(out)
        with open(ics_path, "rb") as f:
            cal = icalendar.Calendar.from_ical(f.read())
    events = [c for c in cal.walk() if c.name == "VEVENT"]
    steps = [s for d in plan["days"] for s in d["am"] + d["pm"]]
    sessions = [(d["date"], slot, d[slot]) for d in plan["days"] for slot in ("am", "pm") if d[slot]]
    failures = []
    if len(events) != len(sessions):
        failures.append(f"{len(events)} events for {len(sessions)} sessions")
    for e, (date, slot, its) in zip(events, sessions):
        text = str(e.get("DESCRIPTION"))
        for s in its:
            if s["product"] not in text:
                failures.append(f"{date} {slot}: step {s['product']} is not in its event")
    for e in events:
        for key in ("DTSTART", "SUMMARY", "DESCRIPTION", "UID"):
            if e.get(key) is None:
                failures.append(f"event {e.get('UID')} lacks {key}")
    uids = [str(e.get("UID")) for e in events]
    if len(set(uids)) != len(uids):
        failures.append("UIDs are not unique")
    patch = [e for e in events if "patch test" in str(e.get("SUMMARY"))]
    if not patch:
        failures.append("no patch-test events")
    print(f"icalendar: {len(events)} events for {len(sessions)} sessions holding {len(steps)} steps, {len(patch)} with a patch test")
    for f in failures:
        print("FAIL:", f)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
