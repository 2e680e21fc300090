#!/usr/bin/env python3
"""Checks rectrack's feeds with real parsers (feedparser for Atom, icalendar for iCalendar).

Usage:
  feeds_check.py atom FILE EXPECTED_COUNT [EXPECT.json]
  feeds_check.py ics  FILE EXPECTED_COUNT [EXPECT.json]

EXPECT.json, optional, is a list with one object per entry/event, in document order:
  atom: {"id", "title", "link", "category", "content", "summary_contains": [...]} for the
        event entries (alert entries are checked for shape only)
  ics:  {"uid", "summary", "dtstart": "YYYY-MM-DD", "url", "trigger_days",
         "description_contains": [...]}
Every key is optional. Exit status 0 when everything holds, 1 with the failures on stderr,
2 for bad usage or a missing module.
"""
import datetime
import json
import sys

failures = []


def check(condition, message):
    if not condition:
        failures.append(message)
    return condition


def check_atom(path, count, expect):
    import feedparser

    with open(path, "rb") as f:
        raw = f.read()
    d = feedparser.parse(raw)
    check(d.bozo == 0, "not well-formed: %r" % (d.get("bozo_exception"),))
    check(d.version == "atom10", "version %r, want atom10" % d.version)
    check(bool(d.feed.get("id")), "feed has no id")
    check(bool(d.feed.get("title")), "feed has no title")
    check(d.feed.get("updated_parsed") is not None, "feed updated missing or not RFC 3339")
    check(any(l.get("rel") == "self" for l in d.feed.get("links", [])), "feed has no self link")
    check(d.feed.get("author") == "rectrack", "feed author %r" % d.feed.get("author"))
    # EXPECTED_COUNT counts event entries; alert entries (raised by the server's scheduler, so
    # depending on the day) are checked for shape only.
    events = [e for e in d.entries if e.get("id", "").startswith("urn:rectrack:event:")]
    check(len(events) == count, "%d event entries, want %d" % (len(events), count))
    for i, e in enumerate(d.entries):
        where = "entry %d" % i
        check(e.get("id", "").startswith(("urn:rectrack:event:", "urn:rectrack:alert:")),
              "%s: id %r" % (where, e.get("id")))
        check(e.get("updated_parsed") is not None, "%s: updated missing or bad" % where)
        check(e.get("published_parsed") is not None, "%s: published missing or bad" % where)
        check(bool(e.get("title")), "%s: no title" % where)
        check(bool(e.get("link")), "%s: no link" % where)
        check(e.get("summary_detail", {}).get("type") == "text/plain", "%s: summary not text" % where)
        contents = e.get("content", [])
        check(len(contents) == 1 and contents[0].get("type") == "text/plain",
              "%s: content not one text/plain" % where)
    for i, e in enumerate(events):
        where = "event entry %d" % i
        contents = e.get("content", [])
        if i >= len(expect):
            continue
        want = expect[i]
        if "id" in want:
            check(e.get("id") == want["id"], "%s: id %r, want %r" % (where, e.get("id"), want["id"]))
        if "title" in want:
            check(e.get("title") == want["title"],
                  "%s: title %r, want %r" % (where, e.get("title"), want["title"]))
        if "link" in want:
            check(e.get("link") == want["link"],
                  "%s: link %r, want %r" % (where, e.get("link"), want["link"]))
        if "api_link" in want:
            related = [l.get("href") for l in e.get("links", []) if l.get("rel") == "related"
                       and l.get("type") == "application/json"]
            check(related == [want["api_link"]],
                  "%s: related links %r, want %r" % (where, related, want["api_link"]))
        if "category" in want:
            terms = [t.get("term") for t in e.get("tags", [])]
            check(terms == [want["category"]], "%s: categories %r" % (where, terms))
        if "content" in want and contents:
            check(contents[0].get("value") == want["content"],
                  "%s: content %r, want %r" % (where, contents[0].get("value"), want["content"]))
        for piece in want.get("summary_contains", []):
            check(piece in e.get("summary", ""),
                  "%s: summary %r lacks %r" % (where, e.get("summary"), piece))


def check_ics(path, count, expect):
    import icalendar

    with open(path, "rb") as f:
        raw = f.read()
    check(raw.endswith(b"\r\n"), "does not end with CRLF")
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as err:
        failures.append("not UTF-8: %s" % err)
    lines = raw.split(b"\r\n")[:-1]
    for n, line in enumerate(lines, 1):
        check(len(line) <= 75, "line %d is %d octets: %r" % (n, len(line), line))
        check(b"\n" not in line and b"\r" not in line, "line %d has a bare line break" % n)
        check(len(line) > 0, "line %d is empty" % n)
        # A fold must not split a UTF-8 sequence: each physical line decodes on its own.
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            failures.append("line %d splits a UTF-8 sequence: %r" % (n, line))

    cal = icalendar.Calendar.from_ical(raw)
    check(cal.name == "VCALENDAR", "top component %r" % cal.name)
    check(str(cal.get("VERSION")) == "2.0", "VERSION %r" % cal.get("VERSION"))
    check(bool(cal.get("PRODID")), "no PRODID")
    events = [c for c in cal.walk() if c.name == "VEVENT"]
    check(len(events) == count, "%d VEVENTs, want %d" % (len(events), count))
    uids = set()
    for i, ev in enumerate(events):
        where = "VEVENT %d" % i
        uid = str(ev.get("UID", ""))
        check(bool(uid), "%s: no UID" % where)
        check(uid not in uids, "%s: duplicate UID %r" % (where, uid))
        uids.add(uid)
        check(ev.get("DTSTAMP") is not None, "%s: no DTSTAMP" % where)
        start = ev.get("DTSTART")
        start = start.dt if start is not None else None
        ok = check(isinstance(start, datetime.date) and not isinstance(start, datetime.datetime),
                   "%s: DTSTART %r is not a date" % (where, start))
        end = ev.get("DTEND")
        end = end.dt if end is not None else None
        if ok and (end is not None or start != datetime.date(9999, 12, 31)):
            check(end == start + datetime.timedelta(days=1),
                  "%s: DTEND %r, want the day after %r" % (where, end, start))
        alarms = [c for c in ev.subcomponents if c.name == "VALARM"]
        trigger = None
        if check(len(alarms) == 1, "%s: %d VALARMs" % (where, len(alarms))):
            alarm = alarms[0]
            check(str(alarm.get("ACTION")) == "DISPLAY", "%s: alarm ACTION" % where)
            check(bool(str(alarm.get("DESCRIPTION", ""))), "%s: alarm has no DESCRIPTION" % where)
            t = alarm.get("TRIGGER")
            trigger = t.dt if t is not None else None
            check(isinstance(trigger, datetime.timedelta) and trigger <= datetime.timedelta(0),
                  "%s: TRIGGER %r" % (where, trigger))
        check(bool(str(ev.get("SUMMARY", ""))), "%s: no SUMMARY" % where)
        if i >= len(expect):
            continue
        want = expect[i]
        if "uid" in want:
            check(uid == want["uid"], "%s: UID %r, want %r" % (where, uid, want["uid"]))
        if "summary" in want:
            got = str(ev.get("SUMMARY", ""))
            check(got == want["summary"], "%s: SUMMARY %r, want %r" % (where, got, want["summary"]))
        if "dtstart" in want:
            check(str(start) == want["dtstart"], "%s: DTSTART %r, want %r" % (where, start, want["dtstart"]))
        if "url" in want:
            got = str(ev.get("URL", ""))
            check(got == want["url"], "%s: URL %r, want %r" % (where, got, want["url"]))
        if "trigger_days" in want:
            check(trigger == datetime.timedelta(days=-want["trigger_days"]),
                  "%s: TRIGGER %r, want %d days before" % (where, trigger, want["trigger_days"]))
        description = str(ev.get("DESCRIPTION", ""))
        for piece in want.get("description_contains", []):
            check(piece in description, "%s: DESCRIPTION %r lacks %r" % (where, description, piece))


def main(argv):
    if len(argv) not in (4, 5) or argv[1] not in ("atom", "ics"):
        print(__doc__, file=sys.stderr)
        return 2
    kind, path, count = argv[1], argv[2], int(argv[3])
    expect = []
    if len(argv) == 5:
        with open(argv[4], encoding="utf-8") as f:
            expect = json.load(f)
    try:
        (check_atom if kind == "atom" else check_ics)(path, count, expect)
    except ImportError as err:
        print("feeds_check: missing module: %s" % err, file=sys.stderr)
        return 2
    for failure in failures:
        print("feeds_check: %s: %s" % (path, failure), file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
