#!/usr/bin/env python3
"""Writes a synthetic rectrack import file (docs/import-format.md) for the benchmark.

    bench/generate.py [--recommendations 10000] [--inspections 100] [--seed 1] OUT.yaml

Deterministic: the same arguments give the same bytes. Five bodies own the recommendations
(about one in ten is owned jointly by two), spread over the inspections in publication order;
each recommendation gets a few events that leave it issued, closed, verified, reopened or
withdrawn. Every date is on or before LATEST, so the file imports on any day after it.
"""

import argparse
import datetime as dt
import random
import sys

BODIES = [
    ("CPS", "Crown Prosecution Service"),
    ("SFO", "Serious Fraud Office"),
    ("NPCC", "National Police Chiefs' Council"),
    ("HMCTS", "HM Courts and Tribunals Service"),
    ("PROB", "The Probation Service"),
]
FIRST = dt.date(2018, 1, 15)
LATEST = dt.date(2026, 6, 30)  # no date in the file is later than this
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]
ACTIONS = ["introduce a system to identify", "implement a process for", "review the guidance on",
           "deliver training on", "carry out quality assessments of", "publish data on",
           "agree a protocol with the police on", "improve the timeliness of"]
TOPICS = ["summary time limits", "disclosure schedules", "victim personal statements",
          "pre-charge decisions", "case progression", "digital evidence", "witness care",
          "bail and remand decisions", "unused material", "special measures applications"]


def q(text):
    """A YAML double-quoted scalar."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def month_end(year, month):
    nxt = dt.date(year + (month == 12), month % 12 + 1, 1)
    return nxt - dt.timedelta(days=1)


def add_months(day, months):
    index = day.year * 12 + day.month - 1 + months
    return month_end(index // 12, index % 12 + 1)


def deadline_text(rng, issued, owner_names):
    """The recommendation's text; its deadlines are read from the text at import."""
    who = " and ".join(owner_names)
    action = f"{rng.choice(ACTIONS)} {rng.choice(TOPICS)}"
    kind = rng.random()
    due = add_months(issued, rng.randint(4, 18))
    if kind < 0.70:  # one milestone, "By March 2024"
        return f"By {MONTHS[due.month - 1]} {due.year}, the {who} to {action}."
    if kind < 0.85:  # two milestones with labels
        later = add_months(due, rng.randint(3, 12))
        return (f"By {due.day} {MONTHS[due.month - 1]} {due.year} to have designed a plan to "
                f"{action}. By {later.day} {MONTHS[later.month - 1]} {later.year} to have "
                f"implemented it across the {who}.")
    return f"The {who} should {action} in the near future."  # vague: no milestone


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("--recommendations", type=int, default=10000)
    parser.add_argument("--inspections", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    n_insp = args.inspections
    span = (LATEST - dt.timedelta(days=120) - FIRST).days

    inspections = []
    for k in range(n_insp):
        published = FIRST + dt.timedelta(days=span * k // max(1, n_insp - 1))
        primary = BODIES[k % len(BODIES)][0]
        inspections.append({"id": f"insp{k:03d}", "published": published, "primary": primary})
    # Each inspection's follow-up is the next one on the same body, five places later.
    for k, insp in enumerate(inspections):
        insp["follow_up"] = inspections[k + 5] if k + 5 < n_insp else None

    lines = ["# Synthetic benchmark data written by bench/generate.py "
             f"(seed {args.seed}); do not edit.", "bodies:"]
    for body_id, name in BODIES:
        lines.append(f"  - {{id: {body_id}, name: {q(name)}}}")
    lines.append("inspections:")
    for k, insp in enumerate(inspections):
        title = f"Inspection {k:03d}: {dict(BODIES)[insp['primary']]}"
        entry = (f"  - {{id: {insp['id']}, title: {q(title)}, short_title: {q(f'inspection {k:03d}')}, "
                 f"published: {insp['published'].isoformat()}")
        if k >= 5:
            entry += f", follow_up_of: {inspections[k - 5]['id']}"
        lines.append(entry + "}")

    recs, events = [], []
    body_ids = [b for b, _ in BODIES]
    for r in range(args.recommendations):
        insp = inspections[r * n_insp // args.recommendations]
        owners = [insp["primary"]]
        if rng.random() < 0.1:
            owners.append(rng.choice([b for b in body_ids if b != insp["primary"]]))
        rec_id = f"{insp['id']}-r{r:05d}"
        issued = insp["published"]
        recs.append(f"  - id: {rec_id}\n    inspection: {insp['id']}\n"
                    f"    owners: [{', '.join(owners)}]\n"
                    f"    text: {q(deadline_text(rng, issued, owners))}")

        day = issued
        lead = owners[0]

        def later(lo, hi):
            nonlocal day
            day = min(LATEST, day + dt.timedelta(days=rng.randint(lo, hi)))
            return day.isoformat()

        for u in range(rng.randint(1, 2)):
            events.append(f"  - {{rec: {rec_id}, do: update, effective: {later(20, 120)}, "
                          f"by: {lead}, note: {q(f'progress report {u + 1}')}}}")
        fate = rng.random()
        follow = insp["follow_up"]
        if fate < 0.45:
            continue  # still issued
        if fate < 0.50:
            events.append(f"  - {{rec: {rec_id}, do: withdraw, effective: {later(10, 60)}, "
                          f"reason: {q('overtaken by legislation')}}}")
            continue
        events.append(f"  - {{rec: {rec_id}, do: close, effective: {later(30, 200)}, by: {lead}, "
                      f"note: {q('closed by the ' + lead)}}}")
        if follow is None or follow["published"] <= day:
            continue  # closed, awaiting a follow-up
        outcome = "achieved" if rng.random() < 0.6 else "not_achieved"
        day = follow["published"]
        events.append(f"  - {{rec: {rec_id}, do: assess, effective: {day.isoformat()}, "
                      f"outcome: {outcome}, in: {follow['id']}}}")
        if outcome == "not_achieved":
            events.append(f"  - {{rec: {rec_id}, do: update, effective: {later(10, 90)}, "
                          f"by: {lead}, note: {q('new plan after the follow-up')}}}")

    lines.append("recommendations:")
    lines.extend(recs)
    lines.append("events:")
    lines.extend(events)
    with open(args.out, "w", encoding="utf-8") as out:
        out.write("\n".join(lines) + "\n")
    print(f"{args.out}: {len(BODIES)} bodies, {n_insp} inspections, {len(recs)} recommendations, "
          f"{len(events)} events (seed {args.seed})")


if __name__ == "__main__":
    main(sys.argv[1:])
