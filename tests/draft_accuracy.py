#!/usr/bin/python3
"""How well `rectrack draft` reads inspection reports: the corpus in tests/data/reports/ (see its
README.md), each report fed as written (Markdown-flavoured text), as pandoc's DOCX and ODT, as
pandoc's standalone HTML and as that HTML printed to PDF by weasyprint (with a running header and
a "Page N of M" footer), and compared with tests/data/reports/expected.yaml.

Printed per report and form, and in total:
- recall: expected recommendations found (by id and text, else by text under another id);
- precision: drafted recommendations that are expected;
- numbering, text: of those found, the id (<inspection>-r<N>) and the text right;
- deadline accuracy: of those found, the milestones' dates exactly right, in order;
- owner accuracy: of those found, the owners exactly right (known bodies by id, "the
  government" as a body the draft proposes);
- judgement accuracy: the follow-up's assess events on the parent's recommendations.
Fails (exit 1) unless every one of these is 100%, the draft is the same in every form of a report
(ids, owners, milestones, text with whitespace, quotes and dashes normalised, events), the
inspection and proposed bodies are right, and every draft is refused by `rectrack import` while
`reviewed: false` (saying "reviewed") and imports cleanly once `reviewed: true`; for the follow-up,
after the parent fixture and the reviewed draft, `list` and `report annex` reproduce the domain's
worked example as at 31 March 2025.

Usage: draft_accuracy.py RECTRACK_BINARY SOURCE_DIR. Exits 77 (skipped) when pandoc, weasyprint or
pdftotext is missing, unless RECTRACK_REQUIRE_TOOLS=1. RECTRACK_KEEP_DRAFTS=DIR keeps the
converted reports and the drafts in DIR.
"""
import concurrent.futures
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unicodedata

import yaml

TOOLS = {"pandoc": "pandoc", "weasyprint": "weasyprint", "pdftotext": "poppler-utils"}
CLOCK = "2025-03-31"  # "today" for every command: the reports' dates are not in the future
AS_OF = "2025-03-31"

# The PDF as an HMCPSI report looks: A4, a running header (the report's title, not on the cover
# page) and a footer "Page N of M", a boxed table.
PRINT_STYLE = """<style>
@page { size: A4; margin: 25mm 20mm;
  @top-center { content: string(doctitle); font-size: 8pt; }
  @bottom-right { content: "Page " counter(page) " of " counter(pages); font-size: 9pt; } }
@page :first { @top-center { content: none; } }
h1 { string-set: doctitle content(); }
body { font-size: 11pt; }
* { hyphens: manual !important; }
table { border-collapse: collapse; }
td, th { border: 1px solid black; padding: 4pt; }
</style>
"""
LIST_STYLES = {"a": "lower-alpha", "A": "upper-alpha", "i": "lower-roman", "I": "upper-roman",
               "1": "decimal"}


def print_copy(html):
    """pandoc's HTML as weasyprint should print it: the style above, no automatic hyphenation
    (HMCPSI's reports have none), and lists numbered as written (weasyprint ignores <ol>'s start
    and type attributes)."""
    def ol(match):
        attrs = match.group(1)
        start = re.search(r'start="(\d+)"', attrs)
        kind = re.search(r'type="(\w)"', attrs)
        style = "list-style-type: %s;" % LIST_STYLES.get(kind.group(1) if kind else "1",
                                                         "decimal")
        if start:
            style += " counter-reset: list-item %d;" % (int(start.group(1)) - 1)
        return '<ol%s style="%s">' % (attrs, style)
    html = re.sub(r"<ol([^>]*)>", ol, html)
    return html.replace("</head>", PRINT_STYLE + "</head>", 1)


def check_tools():
    for tool, package in TOOLS.items():
        if not shutil.which(tool):
            message = "%s is not installed (Debian %s; deploy/install-deps.sh installs it)" % (
                tool, package)
            if os.environ.get("RECTRACK_REQUIRE_TOOLS") == "1":
                sys.exit("required tool missing: " + message)
            print("skipped: " + message)
            sys.exit(77)


def run(args, timeout=60):
    try:
        return subprocess.run(args, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(args, -1, "", "timed out after %d s" % timeout)


def norm(text):
    """Text as compared: NFKC (ligatures, no-break spaces), soft hyphens gone, curly quotes
    straight, dashes "-", whitespace collapsed."""
    text = unicodedata.normalize("NFKC", str(text)).replace("\u00ad", "")
    text = re.sub("[\u2018\u2019\u201a\u201b\u2032]", "'", text)
    text = re.sub("[\u201c\u201d\u201e\u201f\u2033]", '"', text)
    text = re.sub("[\u2010\u2011\u2012\u2013\u2014\u2212]", "-", text)
    return " ".join(text.split())


def first_heading(path):
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("# "):
                return line[2:].strip()
            if line.strip():
                return line.strip()
    return os.path.basename(path)


class Corpus:
    def __init__(self, binary, source, work):
        self.binary, self.work = binary, work
        self.dir = os.path.join(source, "tests", "data", "reports")
        with open(os.path.join(self.dir, "expected.yaml"), encoding="utf-8") as f:
            self.expected = yaml.safe_load(f)
        self.known = {b["id"]: b["name"] for b in self.expected["bodies"]}
        self.bodies_file = os.path.join(work, "bodies.yaml")
        with open(self.bodies_file, "w", encoding="utf-8") as f:
            yaml.safe_dump({"bodies": self.expected["bodies"]}, f, allow_unicode=True)
        self.problems = []  # everything that fails the test, beyond the metrics

    # --- the forms of each report -------------------------------------------------------------

    def convert(self, report):
        """{form: path} for the forms the report is fed in."""
        src = os.path.join(self.dir, report["file"])
        stem = os.path.join(self.work, os.path.splitext(report["file"])[0])
        forms = {"text": src}
        wanted = report.get("formats", ["text", "html", "docx", "odt", "pdf"])
        steps = []
        reader = report.get("pandoc_from", "markdown")
        if "html" in wanted or "pdf" in wanted:
            steps.append(("html", ["pandoc", "-f", reader, "-t", "html", "-s",
                                   "--metadata", "pagetitle=" + first_heading(src),
                                   "--metadata", "lang=en-GB", "-o", stem + ".html", src],
                          stem + ".html"))
        if "pdf" in wanted:
            steps.append(("pdf", ["weasyprint", stem + ".print.html", stem + ".pdf"],
                          stem + ".pdf"))
        if "docx" in wanted:
            steps.append(("docx", ["pandoc", "-f", reader, "-o", stem + ".docx", src],
                          stem + ".docx"))
        if "odt" in wanted:
            steps.append(("odt", ["pandoc", "-f", reader, "-o", stem + ".odt", src],
                          stem + ".odt"))
        for form, args, out in steps:
            if form == "pdf" and "html" in forms:
                with open(forms["html"], encoding="utf-8") as f:
                    html = f.read()
                with open(stem + ".print.html", "w", encoding="utf-8") as f:
                    f.write(print_copy(html))
            done = run(args, timeout=90)
            if done.returncode != 0 or not os.path.exists(out):
                self.problems.append("%s: making the %s failed: %s" % (
                    report["file"], form, (done.stderr or done.stdout).strip()[:500]))
                continue
            forms[form] = out
        return {form: forms[form] for form in wanted if form in forms}

    # --- databases ----------------------------------------------------------------------------

    def cli(self, db, *args, timeout=60):
        return run([self.binary, "--db", db, "--clock", CLOCK, *args], timeout=timeout)

    def fresh_db(self, report, name):
        """A new database with the bodies, and for a follow-up the parent fixture."""
        db = os.path.join(self.work, name + ".db")
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(db + suffix):
                os.remove(db + suffix)
        files = [self.bodies_file]
        if report.get("parent_fixture"):
            files.append(os.path.join(self.dir, report["parent_fixture"]))
        done = self.cli(db, "import", *files)
        if done.returncode != 0:
            raise RuntimeError("cannot build %s: %s" % (db, done.stderr))
        return db

    # --- one draft ----------------------------------------------------------------------------

    def draft(self, report, form, path):
        tag = "%s.%s" % (os.path.splitext(report["file"])[0], form)
        db = self.fresh_db(report, "draft-" + tag)
        out = os.path.join(self.work, "draft-%s.yaml" % tag)
        args = ["draft", path, "--inspection", report["inspection"],
                "--published", str(report["published"]), "--output", out]
        if report.get("follow_up_of"):
            args += ["--follow-up-of", report["follow_up_of"]]
        start = time.monotonic()
        done = self.cli(db, *args, timeout=120)
        took = time.monotonic() - start
        if done.returncode != 0 or not os.path.exists(out):
            return tag, None, None, "rectrack draft failed (exit %s): %s" % (
                done.returncode, (done.stderr or done.stdout).strip()[:800]), took
        with open(out, encoding="utf-8") as f:
            raw = f.read()
        try:
            parsed = yaml.safe_load(raw)
        except yaml.YAMLError as error:
            return tag, raw, None, "the draft is not YAML: %s" % error, took
        if not isinstance(parsed, dict):
            return tag, raw, None, "the draft is not a mapping", took
        return tag, raw, parsed, None, took

    # --- comparing ----------------------------------------------------------------------------

    def owner_key(self, owner, proposed):
        """An owner as compared: a known body id, or "new:<name>" for a proposed body."""
        if owner in proposed and owner not in self.known:
            return "new:" + proposed[owner]
        return owner

    @staticmethod
    def owner_matches(expected, actual):
        if expected.startswith("new:"):
            return actual.startswith("new:") and expected[4:].lower() in actual[4:].lower()
        return expected == actual

    def text_problems(self, exp, text):
        text = norm(text)
        problems = []
        if exp.get("text_start") and not text.startswith(norm(exp["text_start"])):
            problems.append("text starts %r, expected %r" % (
                text[:len(norm(exp["text_start"])) + 10], norm(exp["text_start"])))
        for phrase in exp.get("text_has", []):
            if norm(phrase) not in text:
                problems.append("text lacks %r" % norm(phrase))
        for phrase in exp.get("text_lacks", []):
            if norm(phrase) in " " + text + " ":
                problems.append("text has %r, which is not part of it" % phrase)
        return problems

    def text_matches(self, exp, text):
        key = exp.get("text_start") or exp.get("text_has", [""])[0]
        return bool(key) and norm(key) in norm(text)

    def score(self, report, draft):
        """(counts, mismatches, signature) of one draft against the expectation."""
        inspection = report["inspection"]
        c = dict.fromkeys(("expected", "found", "drafted", "drafted_expected", "numbering",
                           "text", "deadline", "owner", "events_expected", "events_right",
                           "events_extra"), 0)
        bad = []
        for key in draft:
            if key not in ("reviewed", "bodies", "inspections", "recommendations", "events"):
                bad.append("unexpected top-level key %r" % key)
        if draft.get("reviewed") is not False:
            bad.append("reviewed is %r, not false" % draft.get("reviewed"))
        # The inspection.
        inspections = draft.get("inspections") or []
        if len(inspections) != 1:
            bad.append("%d inspections, expected 1" % len(inspections))
        else:
            got = inspections[0]
            want = {"id": inspection, "published": str(report["published"]),
                    "follow_up_of": report.get("follow_up_of")}
            for key, value in want.items():
                if str(got.get(key)) != str(value) and not (value is None and key not in got):
                    bad.append("inspection %s is %r, expected %r" % (key, got.get(key), value))
            if norm(got.get("title", "")) != norm(report["title"]):
                bad.append("inspection title %r, expected %r" % (got.get("title"),
                                                                 report["title"]))
        # Proposed bodies.
        proposed = {}
        for body in draft.get("bodies") or []:
            proposed[body.get("id")] = body.get("name", "")
            if body.get("id") in self.known:
                bad.append("proposes known body %s as new" % body.get("id"))
        words = [w.lower() for w in report.get("new_bodies", [])]
        for body_id, name in proposed.items():
            if not any(w in name.lower() for w in words):
                bad.append("proposes a new body %s (%r) that is not expected" % (body_id, name))
        for w in words:
            if not any(w in name.lower() for name in proposed.values()):
                bad.append("proposes no new body named like %r" % w)
        # Recommendations.
        drafted = list(draft.get("recommendations") or [])
        c["drafted"] = len(drafted)
        used = set()
        signature = [("inspection", inspection,
                      norm(inspections[0].get("title", "")) if inspections else None)]
        for exp in report.get("recommendations") or []:
            c["expected"] += 1
            want_id = "%s-r%s" % (inspection, exp["n"])
            # Its id and text, else its text under another id, else its id with other text.
            index = next((i for i, r in enumerate(drafted) if i not in used and
                          r.get("id") == want_id and self.text_matches(exp, r.get("text", ""))),
                         None)
            if index is None:
                index = next((i for i, r in enumerate(drafted)
                              if i not in used and self.text_matches(exp, r.get("text", ""))),
                             None)
            if index is None:
                index = next((i for i, r in enumerate(drafted)
                              if i not in used and r.get("id") == want_id), None)
            if index is None:
                bad.append("%s not found (%s)" % (want_id, norm(exp.get("text_start") or
                                                                exp["text_has"][0])[:60]))
                continue
            used.add(index)
            rec = drafted[index]
            c["found"] += 1
            if rec.get("id") == want_id:
                c["numbering"] += 1
            else:
                bad.append("%s drafted as %s" % (want_id, rec.get("id")))
            if rec.get("inspection") != inspection:
                bad.append("%s: inspection %r" % (want_id, rec.get("inspection")))
            problems = self.text_problems(exp, rec.get("text", ""))
            if problems:
                bad.extend("%s: %s" % (want_id, p) for p in problems)
            else:
                c["text"] += 1
            dues = [str(m.get("due")) for m in rec.get("milestones") or []]
            want_dues = [str(d) for d in exp.get("due", [])]
            if dues == want_dues:
                c["deadline"] += 1
            else:
                bad.append("%s: milestones %s, expected %s" % (want_id, dues or "none",
                                                               want_dues or "none"))
            owners = [self.owner_key(o, proposed) for o in rec.get("owners") or []]
            want_owners = list(exp.get("owners", []))
            remaining = list(owners)
            ok = len(owners) == len(want_owners)
            for w in want_owners:
                hit = next((o for o in remaining if self.owner_matches(w, o)), None)
                if hit is None:
                    ok = False
                else:
                    remaining.remove(hit)
            if ok:
                c["owner"] += 1
            else:
                bad.append("%s: owners %s, expected %s" % (want_id, owners, want_owners))
        for i, rec in enumerate(drafted):
            if i not in used:
                bad.append("unexpected %s: %s" % (rec.get("id"), norm(rec.get("text", ""))[:90]))
        c["drafted_expected"] = len(used)
        for rec in drafted:
            owners = sorted(self.owner_key(o, proposed) for o in rec.get("owners") or [])
            signature.append(("rec", rec.get("id"), tuple(owners),
                              tuple((m.get("label"), str(m.get("due")))
                                    for m in rec.get("milestones") or []),
                              norm(rec.get("text", ""))))
        # Judgements.
        events = list(draft.get("events") or [])
        left = list(range(len(events)))
        for exp in report.get("events") or []:
            c["events_expected"] += 1
            index = next((i for i in left if events[i].get("rec") == exp["rec"]), None)
            if index is None:
                bad.append("no judgement of %s (expected %s)" % (exp["rec"], exp["outcome"]))
                continue
            left.remove(index)
            ev = events[index]
            want = {"do": "assess", "outcome": exp["outcome"], "in": inspection,
                    "effective": str(report["published"]),
                    "superseded_by": sorted(exp.get("superseded_by", []))}
            got = {"do": ev.get("do"), "outcome": ev.get("outcome"), "in": ev.get("in"),
                   "effective": str(ev.get("effective")),
                   "superseded_by": sorted(ev.get("superseded_by") or [])}
            wrong = ["%s %r (expected %r)" % (k, got[k], want[k]) for k in want
                     if got[k] != want[k]]
            if wrong:
                bad.append("judgement of %s: %s" % (exp["rec"], ", ".join(wrong)))
            else:
                c["events_right"] += 1
        for i in left:
            c["events_extra"] += 1
            bad.append("unexpected event %s" % json.dumps(events[i], default=str))
        for ev in events:
            signature.append(("event", ev.get("rec"), ev.get("do"), ev.get("outcome"),
                              tuple(sorted(ev.get("superseded_by") or []))))
        return c, bad, signature

    # --- importing ----------------------------------------------------------------------------

    def import_checks(self, report, tag, raw):
        bad = []
        path = os.path.join(self.work, "import-%s.yaml" % tag)
        with open(path, "w", encoding="utf-8") as f:
            f.write(raw)
        db = self.fresh_db(report, "import-" + tag)
        done = self.cli(db, "import", path)
        if done.returncode == 0:
            bad.append("import accepted the draft with reviewed: false")
        elif "reviewed" not in done.stderr:
            bad.append("import refused the unreviewed draft without saying 'reviewed': " +
                       done.stderr.strip()[:300])
        reviewed, count = re.subn(r"(?m)^reviewed:[ \t]*false\b", "reviewed: true", raw)
        if count != 1:
            bad.append("no top-level line 'reviewed: false' to flip")
            return bad
        # What the reviewer does: gives the owners the draft flagged as not told by the text.
        for exp in report.get("recommendations") or []:
            if not exp.get("review_owners"):
                continue
            rec_id = "%s-r%s" % (report["inspection"], exp["n"])
            block = re.search(r'(?m)^  - id: "%s"\n(    .*\n)*?    owners: \[\]' % re.escape(rec_id),
                              reviewed)
            if not block:
                bad.append("%s: no 'owners: []' for the reviewer to fill" % rec_id)
                return bad
            reviewed = (reviewed[:block.end() - 2] + "[%s]" % ", ".join(exp["review_owners"]) +
                        reviewed[block.end():])
        with open(path, "w", encoding="utf-8") as f:
            f.write(reviewed)
        done = self.cli(db, "import", path)
        if done.returncode != 0:
            bad.append("the reviewed draft does not import: " + done.stderr.strip()[:500])
            return bad
        if report.get("states"):
            bad.extend(self.follow_up_checks(report, db))
        return bad

    def follow_up_checks(self, report, db):
        """The domain's worked example as at 31 March 2025, from the parent fixture and the
        reviewed draft."""
        bad = []
        done = self.cli(db, "list", "--as-of", AS_OF, "--format", "json")
        if done.returncode != 0:
            return ["list failed: " + done.stderr.strip()[:300]]
        states = {r["id"]: r["state"] for r in json.loads(done.stdout)}
        for rec, state in report["states"].items():
            if states.get(rec) != state:
                bad.append("%s is %s at %s, expected %s" % (rec, states.get(rec), AS_OF, state))
        done = self.cli(db, "report", "annex", "--body", "CPS", "--as-of", AS_OF,
                        "--format", "json")
        if done.returncode != 0:
            return bad + ["report annex failed: " + done.stderr.strip()[:300]]
        annex = json.loads(done.stdout)
        opened = {r["id"]: r for r in annex["open"]}
        closed = {r["id"]: r for r in annex["closed"]}
        parent, inspection = report["follow_up_of"], report["inspection"]
        want_open = {parent + "-r2", inspection + "-r1", inspection + "-r2"}
        want_closed = {parent + "-r%d" % n for n in range(1, 6)}  # r6 closed in 2023-24
        if set(opened) != want_open:
            bad.append("annex open table %s, expected %s" % (sorted(opened), sorted(want_open)))
        if set(closed) != want_closed:
            bad.append("annex closed table %s, expected %s" % (sorted(closed),
                                                                sorted(want_closed)))
        r2 = opened.get(parent + "-r2", {})
        if "reopened following an assessment of 'not achieved'" not in r2.get("note", ""):
            bad.append("annex: %s-r2's note is %r" % (parent, r2.get("note")))
        for old, new in (("-r4", "-r1"), ("-r5", "-r2")):
            note = closed.get(parent + old, {}).get("note", "")
            if "superseded by new recommendation " + inspection + new not in note:
                bad.append("annex: %s's note is %r" % (parent + old, note))
        for rec, quarter in (("-r1", "Q4 24/25"), ("-r2", "Q2 24/25"), ("-r3", "Q4 24/25"),
                             ("-r4", "Q4 24/25"), ("-r5", "Q4 24/25")):
            got = closed.get(parent + rec, {}).get("quarter")
            if got != quarter:
                bad.append("annex: %s closed in %r, expected %s" % (parent + rec, got, quarter))
        return bad


METRICS = (("recall", "found", "expected"), ("precision", "drafted_expected", "drafted"),
           ("numbering", "numbering", "found"), ("text", "text", "found"),
           ("deadlines", "deadline", "found"), ("owners", "owner", "found"))


def judgement(c):
    return c["events_right"], c["events_expected"] + c["events_extra"]


def describe(c):
    parts = ["%s %d/%d" % (name, c[num], c[den]) for name, num, den in METRICS]
    right, total = judgement(c)
    parts.append("judgements %d/%d" % (right, total) if total else "judgements -")
    return ", ".join(parts)


def percent(num, den):
    return "100%" if den == 0 else "%.1f%%" % (100.0 * num / den)


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: draft_accuracy.py RECTRACK_BINARY SOURCE_DIR")
    check_tools()
    binary, source = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    keep = os.environ.get("RECTRACK_KEEP_DRAFTS")
    work = tempfile.mkdtemp(prefix="rectrack-draft-")
    started = time.monotonic()
    try:
        corpus = Corpus(binary, source, work)
        reports = corpus.expected["reports"]
        with concurrent.futures.ThreadPoolExecutor(max_workers=6) as pool:
            forms = list(pool.map(corpus.convert, reports))
            jobs = [(report, form, path) for report, fs in zip(reports, forms)
                    for form, path in fs.items()]
            drafts = list(pool.map(lambda job: corpus.draft(*job), jobs))
        print("converted and drafted %d forms of %d reports in %.1f s" % (
            len(jobs), len(reports), time.monotonic() - started))

        total = None
        failed = list(corpus.problems)
        signatures = {}
        import_jobs = []
        for (report, form, _), (tag, raw, parsed, error, took) in zip(jobs, drafts):
            label = "%s [%s]" % (report["file"], form)
            if error:
                print("%s: %s" % (label, error))
                failed.append("%s: %s" % (label, error))
                c = dict.fromkeys(("found", "drafted_expected", "drafted", "numbering", "text",
                                   "deadline", "owner", "events_right", "events_extra"), 0)
                c["expected"] = len(report.get("recommendations") or [])
                c["events_expected"] = len(report.get("events") or [])
                bad, sig = [], None
            else:
                c, bad, sig = corpus.score(report, parsed)
                print("%s: %s (%.1f s)" % (label, describe(c), took))
                for line in bad:
                    print("    " + line)
                failed.extend("%s: %s" % (label, line) for line in bad)
                import_jobs.append((report, tag, raw, label))
            signatures.setdefault(report["file"], []).append((form, sig))
            total = c if total is None else {k: total[k] + c[k] for k in total}

        # The same draft from every form of a report.
        for name, sigs in signatures.items():
            base_form, base = sigs[0]
            for form, sig in sigs[1:]:
                if base is None or sig is None or sig == base:
                    continue
                message = "%s: the %s draft differs from the %s draft:" % (name, form, base_form)
                a = {s[:2]: s for s in base}
                b = {s[:2]: s for s in sig}
                for key in list(a) + [k for k in b if k not in a]:
                    if a.get(key) == b.get(key):
                        continue
                    if key not in b or key not in a:
                        message += "\n      %s %s only in the %s draft" % (
                            key[0], key[1], base_form if key in a else form)
                        continue
                    fields = {"rec": ("owners", "milestones", "text"),
                              "inspection": ("title",)}.get(key[0],
                                                            ("do", "outcome", "superseded_by"))
                    for field, x, y in zip(fields, a[key][2:], b[key][2:]):
                        if x != y and field == "text":
                            at = next((i for i, (p, q) in enumerate(zip(x, y)) if p != q),
                                      min(len(x), len(y)))
                            message += "\n      %s text from character %d: %s %r, %s %r" % (
                                key[1], at, base_form, x[max(0, at - 20):at + 50], form,
                                y[max(0, at - 20):at + 50])
                        elif x != y:
                            message += "\n      %s %s: %s %r, %s %r" % (
                                key[1], field, base_form, x, form, y)
                print(message)
                failed.append(message)

        # Refused unreviewed, imported reviewed; the worked example from the follow-up.
        with concurrent.futures.ThreadPoolExecutor(max_workers=6) as pool:
            results = list(pool.map(lambda j: corpus.import_checks(j[0], j[1], j[2]),
                                    import_jobs))
        for (report, tag, raw, label), bad in zip(import_jobs, results):
            for line in bad:
                print("%s: import: %s" % (label, line))
                failed.append("%s: import: %s" % (label, line))
        print("imports checked: %d drafts" % len(import_jobs))

        print("TOTAL: " + describe(total))
        right, events = judgement(total)
        print("TOTAL: recall %s, precision %s, deadline accuracy %s, owner accuracy %s, "
              "judgement accuracy %s (numbering %s, text %s) in %.1f s" % (
                  percent(total["found"], total["expected"]),
                  percent(total["drafted_expected"], total["drafted"]),
                  percent(total["deadline"], total["found"]),
                  percent(total["owner"], total["found"]),
                  percent(right, events),
                  percent(total["numbering"], total["found"]),
                  percent(total["text"], total["found"]), time.monotonic() - started))
        if keep:
            os.makedirs(keep, exist_ok=True)
            for name in os.listdir(work):
                if not name.endswith((".db", "-wal", "-shm")):
                    shutil.copy(os.path.join(work, name), keep)
            print("drafts and converted reports kept in " + keep)
        if failed:
            print("FAILED: %d problems" % len(failed))
            return 1
        print("OK")
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
