#!/usr/bin/python3
"""The real clients rectrack says it serves, against a real `rectrack serve` on 127.0.0.1 over
the demo data (issue 15):

- Prometheus: `promtool check metrics` (Debian prometheus) on GET /metrics;
- Standard Webhooks: the reference library (`standardwebhooks` on npm) verifies real deliveries
  received by a local receiver, with the secret `rectrack webhook-secret` made;
- iCalendar: ical.js (npm) parses GET /calendar.ics, beside python3-icalendar in feeds_test;
- Atom: jing (Debian) validates GET /feed.atom against RFC 4287's RELAX NG grammar
  (tests/data/atom.rnc), and refuses a copy with one date broken (the check can fail).

Usage: clients_test.py RECTRACK_BINARY SOURCE_DIR. Exits 77 (skipped) when a client is missing,
unless RECTRACK_REQUIRE_TOOLS=1.
"""
import csv
import datetime
import http.server
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import unittest
import urllib.parse
import urllib.request

BINARY, SOURCE = (os.path.abspath(sys.argv.pop(1)), os.path.abspath(sys.argv.pop(1))) \
    if len(sys.argv) > 2 else (None, None)
NODE_MODULES = os.path.join(SOURCE or ".", "node_modules")


def skip(why):
    if os.environ.get("RECTRACK_REQUIRE_TOOLS") == "1":
        sys.exit("required tool missing: " + why)
    print("skipped: " + why)
    sys.exit(77)


if not shutil.which("promtool"):
    skip("promtool is not installed (Debian prometheus; deploy/install-deps.sh installs it)")
if not shutil.which("jing"):
    skip("jing is not installed (Debian jing; deploy/install-deps.sh installs it)")
if not shutil.which("node"):
    skip("node is not installed")
for package in ("standardwebhooks", "ical.js"):
    if not os.path.isdir(os.path.join(NODE_MODULES, package)):
        skip(package + " is not installed (npm ci)")


class Receiver(http.server.BaseHTTPRequestHandler):
    """Keeps each POST's headers and body."""
    received = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        Receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def node(script, stdin):
    return subprocess.run(["node", "-e", script], input=stdin, capture_output=True, text=True,
                          timeout=60, cwd=SOURCE, env=dict(os.environ, NODE_PATH=NODE_MODULES))


class ClientsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="rectrack-clients-")
        cls.db = os.path.join(cls.dir, "clients.db")
        cls.receiver = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
        threading.Thread(target=cls.receiver.serve_forever, daemon=True).start()
        hook = "http://127.0.0.1:%d/hook" % cls.receiver.server_address[1]
        run = lambda *args, **kw: subprocess.run(  # noqa: E731
            [BINARY, "--db", cls.db, *args], capture_output=True, text=True, timeout=120,
            check=True, **kw).stdout
        cls.secret = run("webhook-secret").strip()
        rules = os.path.join(cls.dir, "rules")
        shutil.copytree(os.path.join(SOURCE, "rules"), rules)
        with open(os.path.join(rules, "subscriptions.yaml"), "w") as f:
            f.write("subscriptions:\n  - {id: cps-hook, body: CPS, webhook: \"%s\", "
                    "secret_env: HOOK_SECRET}\n" % hook)
        run("import", *[os.path.join(SOURCE, "demo", f)
                        for f in ("domestic-abuse.yaml", "more-bodies.yaml", "cps-south-west.yaml")])
        cls.token = run("token", "create", "--role", "inspectorate").splitlines()[0]
        cls.server = subprocess.Popen(
            [BINARY, "--db", cls.db, "--rules", rules, "--clock", "2025-12-01T08:00:00Z", "serve",
             "--listen", "127.0.0.1:0"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env=dict(os.environ, HOOK_SECRET=cls.secret, RECTRACK_WEBHOOK_ALLOW="127.0.0.1"))
        line = cls.server.stdout.readline()
        match = re.search(r"on (http://127\.0\.0\.1:\d+)", line)
        if not match:
            cls.server.kill()
            raise RuntimeError("serve did not start: " + line)
        cls.base = match.group(1)

    @classmethod
    def tearDownClass(cls):
        cls.server.terminate()
        cls.server.wait(timeout=15)
        cls.receiver.shutdown()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def get(self, path):
        request = urllib.request.Request(self.base + path,
                                         headers={"Authorization": "Bearer " + self.token})
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.read().decode()

    def fetch(self, path):
        request = urllib.request.Request(self.base + path,
                                         headers={"Authorization": "Bearer " + self.token})
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.headers, answer.read()

    def test_python_csv_reads_every_list_whole(self):
        # The JSON lists, every page of them.
        ids, cursor = [], None
        while True:
            page = json.loads(self.get("/api/v1/recommendations?limit=2" +
                                       ("&cursor=" + cursor if cursor else "")))
            ids += [item["id"] for item in page["items"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        self.assertGreater(len(ids), 2, "more than one page")
        headers, raw = self.fetch("/api/v1/recommendations?format=csv&bom=true")
        self.assertTrue(raw.startswith(b"\xef\xbb\xbf"), "a byte order mark for Excel")
        self.assertTrue(headers["Content-Type"].startswith("text/csv; charset=utf-8"))
        self.assertEqual(headers["Content-Disposition"],
                         'attachment; filename="recommendations-2025-12-01.csv"')
        rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
        self.assertEqual([row["id"] for row in rows], ids)
        self.assertTrue(all(row["text"] for row in rows))
        by_id = {row["id"]: row for row in rows}
        one = json.loads(self.get("/api/v1/recommendations/" + ids[0]))
        self.assertEqual(by_id[ids[0]]["text"], one["text"])
        self.assertEqual(by_id[ids[0]]["state"], one["state"])

        actions, cursor = [], ""
        while True:  # pages of 3, each following on from the last one's cursor
            page = json.loads(self.get("/api/v1/actions?limit=3" + cursor))
            actions += page["items"]
            if page["next_cursor"] is None:
                break
            cursor = "&cursor=" + urllib.parse.quote(page["next_cursor"])
        headers, raw = self.fetch("/api/v1/actions?format=csv")
        self.assertFalse(raw.startswith(b"\xef\xbb\xbf"), "no byte order mark unless asked")
        rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8"), newline="")))
        self.assertGreater(len(rows), 0)
        self.assertEqual([row["id"] for row in rows], [a["id"] for a in actions])

        alerts, after = [], ""
        while True:
            page = json.loads(self.get("/api/v1/alerts?limit=5" + after))
            alerts += [a["id"] for a in page["items"]]
            if page["next_after"] is None:
                break
            after = "&after=%d" % page["next_after"]
        self.assertGreater(len(alerts), 5, "more than one page of alerts")
        headers, raw = self.fetch("/api/v1/alerts?format=csv")
        rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8"), newline="")))
        self.assertEqual([row["id"] for row in rows], alerts)
        # The command line writes the same file.
        cli = subprocess.run([BINARY, "--db", self.db, "alerts", "--format", "csv"],
                             capture_output=True, timeout=60, check=True).stdout
        self.assertEqual(cli, raw)

    def test_openpyxl_reads_annex_a_as_the_json_says(self):
        annex = json.loads(self.get("/api/v1/reports/annex?body=CPS&as_of=2025-03-31"))
        headers, raw = self.fetch("/api/v1/reports/annex?body=CPS&as_of=2025-03-31&format=xlsx")
        self.assertEqual(headers["Content-Type"],
                         "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        self.assertEqual(headers["Content-Disposition"],
                         'attachment; filename="annex-a-CPS-2025-03-31.xlsx"')
        path = os.path.join(self.dir, "annex.xlsx")
        with open(path, "wb") as f:
            f.write(raw)
        # The command line writes the same workbook (its bytes differ only in their timestamps).
        cli_path = os.path.join(self.dir, "annex-cli.xlsx")
        subprocess.run([BINARY, "--db", self.db, "report", "annex", "--body", "CPS", "--as-of",
                        "2025-03-31", "--format", "xlsx", "--output", cli_path],
                       capture_output=True, timeout=60, check=True)
        import openpyxl  # python3-openpyxl (Debian), imported here so other tests run without it
        for workbook_path in (path, cli_path):
            book = openpyxl.load_workbook(workbook_path)
            self.assertEqual(book.sheetnames, ["Open", "Closed 2024-25"])
            self.assertEqual(book.properties.title, "Annex A: " + annex["body_name"] + " (CPS)")
            for sheet, table, header in (
                    (book["Open"], annex["open"],
                     ["Recommendation", "Inspection", "Published", "Text", "Note"]),
                    (book["Closed 2024-25"], annex["closed"],
                     ["Recommendation", "Inspection", "Published", "Text", "Quarter closed",
                      "Note"])):
                rows = list(sheet.iter_rows(values_only=True))
                self.assertEqual(list(rows[1]), header)
                self.assertEqual(sheet.freeze_panes, "A3", "caption and header stay in view")
                self.assertTrue(sheet.auto_filter.ref.startswith("A2:"))
                self.assertEqual([r[0] for r in rows[2:]], [row["id"] for row in table])
                for cells, row in zip(rows[2:], table):
                    self.assertEqual(cells[3], row["text"])
                    self.assertIsInstance(cells[2], datetime.datetime, "a date, not text")
                    self.assertEqual(cells[2].strftime("%b-%y"), row["published"])
                    self.assertEqual(cells[-1] or "", row["note"])
                    if "quarter" in row:
                        self.assertEqual(cells[4], row["quarter"])
            self.assertIn("Table of open recommendations as at 31 March 2025",
                          book["Open"]["A1"].value)

    def test_openpyxl_reads_the_progress_report_as_the_json_says(self):
        report = json.loads(self.get("/api/v1/reports/progress?body=CPS&as_of=2025-12-01"))
        headers, raw = self.fetch("/api/v1/reports/progress?body=CPS&as_of=2025-12-01&format=xlsx")
        self.assertEqual(headers["Content-Disposition"],
                         'attachment; filename="progress-CPS-2025-12-01.xlsx"')
        import openpyxl  # python3-openpyxl (Debian)
        book = openpyxl.load_workbook(io.BytesIO(raw))
        self.assertEqual(book.sheetnames, ["By unit", "By recommendation"])
        units = list(book["By unit"].iter_rows(min_row=3, values_only=True))
        self.assertGreater(len(units), 0)
        self.assertEqual([(u[0] or "", u[2], u[3], u[4]) for u in units],
                         [(u["unit"], u["closed"], u["open"], u["overdue"])
                          for u in report["units"]])
        rows = list(book["By recommendation"].iter_rows(min_row=3, values_only=True))
        expected = []
        for rec in report["recommendations"]:
            if not rec["units"]:
                expected.append((rec["id"], rec["state"], "", 0, 0, 0))
            for u in rec["units"]:
                expected.append((rec["id"], rec["state"], u["unit"], u["closed"], u["open"],
                                 u["overdue"]))
        self.assertEqual([(r[0], r[1], r[2] or "", r[4], r[5], r[6]) for r in rows], expected)
        self.assertTrue(all(isinstance(r[4], (int, float)) for r in rows), "counts as numbers")

    def test_promtool_accepts_the_metrics(self):
        metrics = self.get("/metrics")
        self.assertIn("rectrack_recommendations_open", metrics)
        checked = subprocess.run(["promtool", "check", "metrics"], input=metrics,
                                 capture_output=True, text=True, timeout=60)
        self.assertEqual(checked.returncode, 0, checked.stdout + checked.stderr)

    def test_the_standard_webhooks_library_verifies_real_deliveries(self):
        deadline = __import__("time").time() + 30
        while len(Receiver.received) < 2 and __import__("time").time() < deadline:
            __import__("time").sleep(0.2)
        self.assertGreaterEqual(len(Receiver.received), 1, "no delivery arrived")
        script = """
const { Webhook } = require("standardwebhooks");
const input = JSON.parse(require("fs").readFileSync(0, "utf8"));
const hook = new Webhook(input.secret.replace(/^whsec_/, ""));
for (const d of input.deliveries) {
  const payload = hook.verify(d.body, d.headers);  // throws unless the signature holds
  if (!payload.type || !payload.data) throw new Error("no type or data");
}
const tampered = input.deliveries[0];
let refused = false;
try { hook.verify(tampered.body + " ", tampered.headers); } catch (e) { refused = true; }
if (!refused) throw new Error("a changed body verified");
console.log("verified " + input.deliveries.length);
"""
        deliveries = [{"headers": h, "body": b.decode()} for h, b in Receiver.received]
        result = node(script, json.dumps({"secret": self.secret, "deliveries": deliveries}))
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertIn("verified", result.stdout)

    def test_ical_js_parses_the_calendar(self):
        calendar = self.get("/calendar.ics?body=CPS")
        script = """
const ICAL = require("ical.js");
const component = new ICAL.Component(ICAL.parse(require("fs").readFileSync(0, "utf8")));
const events = component.getAllSubcomponents("vevent").map(e => new ICAL.Event(e));
if (events.length === 0) throw new Error("no events");
for (const e of events) {
  if (!e.uid || !e.summary || !e.startDate) throw new Error("incomplete event " + e.uid);
}
console.log(events.length + " events");
"""
        result = node(script, calendar)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertRegex(result.stdout, r"^\d+ events")

    def jing(self, document):
        path = os.path.join(self.dir, "feed.xml")
        with open(path, "w") as f:
            f.write(document)
        return subprocess.run(["jing", "-c", os.path.join(SOURCE, "tests", "data", "atom.rnc"),
                               path], capture_output=True, text=True, timeout=120)

    def test_jing_validates_the_atom_feed_against_rfc_4287(self):
        for path in ("/feed.atom", "/feed.atom?body=CPS"):
            feed = self.get(path)
            self.assertGreater(feed.count("<entry>"), 2, path)
            checked = self.jing(feed)
            self.assertEqual(checked.returncode, 0, path + ": " + checked.stdout)
        # The schema is really applied: a feed whose first date is not a date is refused.
        broken = re.sub(r"<updated>[^<]*</updated>", "<updated>31 March 2025</updated>", feed,
                        count=1)
        checked = self.jing(broken)
        self.assertNotEqual(checked.returncode, 0)
        self.assertIn('element "updated" invalid', checked.stdout)


if __name__ == "__main__":
    if not BINARY:
        sys.exit(__doc__)
    unittest.main(verbosity=2)
