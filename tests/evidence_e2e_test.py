#!/usr/bin/python3
"""Evidence files end to end (issue 16), through the `rectrack` binary and a real `rectrack serve`
on 127.0.0.1, with real files (tests/data/evidence):

- attached on the command line (`record ... --attach`) and over the API (multipart/form-data),
  read back byte for byte from GET /api/v1/evidence/{sha256}, always as a download;
- kept once each under their SHA-256, covered by the hash chain: `verify` names a file altered or
  removed with the sqlite3 shell;
- read with the item's access rules: another body's lead gets 404, as for the item;
- every bad upload (oversized, disallowed, misnamed, empty, truncated, cut off mid-file, on a
  transition that takes no evidence) refused with a clear error and nothing written;
- `rectrack backup DIR` writes a copy, while the server runs, that `verify` passes.

Usage: evidence_e2e_test.py RECTRACK_BINARY SOURCE_DIR. Exits 77 (skipped) without the sqlite3
shell, unless RECTRACK_REQUIRE_TOOLS=1.
"""
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

BINARY, SOURCE = (os.path.abspath(sys.argv.pop(1)), os.path.abspath(sys.argv.pop(1))) \
    if len(sys.argv) > 2 else (None, None)
SAMPLES = os.path.join(SOURCE or ".", "tests", "data", "evidence")

if not shutil.which("sqlite3"):
    if os.environ.get("RECTRACK_REQUIRE_TOOLS") == "1":
        sys.exit("required tool missing: sqlite3 (Debian sqlite3)")
    print("skipped: the sqlite3 shell is not installed")
    sys.exit(77)


def sample(name):
    with open(os.path.join(SAMPLES, name), "rb") as f:
        return f.read()


def multipart(event, files, boundary="rectrack-test-boundary"):
    """A multipart/form-data body: the event's JSON, then each (name, bytes) as a file."""
    out = b"--%s\r\nContent-Disposition: form-data; name=\"event\"\r\n" \
          b"Content-Type: application/json\r\n\r\n%s\r\n" % (boundary.encode(),
                                                            json.dumps(event).encode())
    for name, content in files:
        out += b"--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"%s\"\r\n" \
               b"Content-Type: application/octet-stream\r\n\r\n" % (boundary.encode(),
                                                                     name.encode())
        out += content + b"\r\n"
    return out + b"--%s--\r\n" % boundary.encode(), \
        "multipart/form-data; boundary=" + boundary


class EvidenceTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="rectrack-evidence-")
        cls.db = os.path.join(cls.dir, "rectrack.db")
        cls.cli("import", *[os.path.join(SOURCE, "demo", f) for f in
                            ("domestic-abuse.yaml", "more-bodies.yaml", "cps-south-west.yaml")])
        cls.cps = cls.cli("token", "create", "--role", "body_lead", "--body", "CPS").split()[0]
        cls.sfo = cls.cli("token", "create", "--role", "body_lead", "--body", "SFO").split()[0]
        cls.server = subprocess.Popen(
            [BINARY, "--db", cls.db, "--clock", "2025-12-01T08:00:00Z", "serve", "--listen",
             "127.0.0.1:0"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env=dict(os.environ, RECTRACK_MAX_EVIDENCE_FILE_BYTES="20000"))
        line = cls.server.stdout.readline()
        match = re.search(r"on (http://127\.0\.0\.1:(\d+))", line)
        if not match:
            cls.server.kill()
            raise RuntimeError("serve did not start: " + line)
        cls.base, cls.port = match.group(1), int(match.group(2))

    @classmethod
    def tearDownClass(cls):
        cls.server.terminate()
        cls.server.wait(timeout=15)
        shutil.rmtree(cls.dir, ignore_errors=True)

    @classmethod
    def cli(cls, *args, check=True, db=None):
        done = subprocess.run([BINARY, "--db", db or cls.db, "--clock", "2025-12-01T08:00:00Z",
                               *args], capture_output=True, text=True, timeout=120)
        if check and done.returncode != 0:
            raise AssertionError("rectrack %s: %s" % (" ".join(args), done.stderr))
        return done.stdout if check else done

    def request(self, method, path, token, body=None, content_type=None):
        headers = {"Authorization": "Bearer " + token}
        if content_type:
            headers["Content-Type"] = content_type
        req = urllib.request.Request(self.base + path, data=body, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=30) as answer:
                return answer.status, answer.read(), answer.headers
        except urllib.error.HTTPError as error:
            return error.code, error.read(), error.headers

    def sql(self, query, db=None):
        return subprocess.run(["sqlite3", db or self.db, query], capture_output=True, text=True,
                              timeout=30, check=True).stdout.strip()

    def written(self):
        """What the database holds: events and evidence files."""
        return self.sql("SELECT (SELECT count(*) FROM events) || '/' || "
                        "(SELECT count(*) FROM evidence)")

    def test_1_attached_over_the_api_read_back_and_covered_by_verify(self):
        pdf, csv = sample("policy.pdf"), sample("dip-sample.csv")
        body, content_type = multipart({"do": "close", "note": "policy revised"},
                                       [("policy.pdf", pdf), ("dip-sample.csv", csv),
                                        ("policy.pdf", pdf)])
        status, raw, _ = self.request("POST", "/api/v1/recommendations/da25-n1/events", self.cps,
                                      body, content_type)
        self.assertEqual(status, 201, raw)
        answer = json.loads(raw)
        self.assertEqual(answer["state"], "closed")
        files = answer["event"]["attachments"]
        self.assertEqual([(f["name"], f["media_type"], f["size"]) for f in files],
                         [("policy.pdf", "application/pdf", len(pdf)),
                          ("dip-sample.csv", "text/csv", len(csv))])
        self.assertEqual(files[0]["sha256"], hashlib.sha256(pdf).hexdigest())
        # Read back, byte for byte, always as a download that no browser renders.
        status, got, headers = self.request("GET", files[0]["href"], self.cps)
        self.assertEqual(status, 200)
        self.assertEqual(got, pdf)
        self.assertEqual(headers["Content-Type"], "application/pdf")
        self.assertEqual(headers["Content-Disposition"],
                         "attachment; filename=\"policy.pdf\"; filename*=UTF-8''policy.pdf")
        self.assertEqual(headers["X-Content-Type-Options"], "nosniff")
        self.assertIn("sandbox", headers["Content-Security-Policy"])
        # The timeline names the files too, in JSON and on the command line.
        shown = json.loads(self.request("GET", "/api/v1/recommendations/da25-n1", self.cps)[1])
        self.assertEqual(shown["timeline"][-1]["attachments"], files)
        self.assertIn("[policy.pdf %s]" % files[0]["sha256"][:12], self.cli("show", "da25-n1"))
        # Kept once, though attached twice.
        self.assertEqual(self.sql("SELECT count(*) FROM evidence WHERE sha256 = '%s'" %
                                  files[0]["sha256"]), "1")
        out = self.cli("verify")
        self.assertRegex(out, r"OK: \d+ events, .* [1-9]\d* evidence files match their hashes")
        # Another body's lead is told nothing: 404, as for the recommendation itself.
        for path in (files[0]["href"], "/api/v1/recommendations/da25-n1"):
            status, raw, _ = self.request("GET", path, self.sfo)
            self.assertEqual(status, 404, path)
        status, raw, _ = self.request("GET", "/api/v1/evidence/" + "0" * 64, self.cps)
        self.assertEqual(status, 404)
        status, raw, _ = self.request("GET", "/api/v1/evidence/not-a-hash", self.cps)
        self.assertEqual(status, 400)

    def test_2_attached_on_the_command_line(self):
        before = self.written()
        out = self.cli("record", "da25-n2", "close", "--by", "CPS", "--note", "trained",
                       "--attach", os.path.join(SAMPLES, "training.txt"),
                       "--attach", os.path.join(SAMPLES, "photo.jpg"))
        self.assertIn("da25-n2 is now closed", out)
        events, files = map(int, before.split("/"))
        self.assertEqual(self.written(), "%d/%d" % (events + 1, files + 2))
        shown = json.loads(self.request("GET", "/api/v1/recommendations/da25-n2", self.cps)[1])
        self.assertEqual([f["name"] for f in shown["timeline"][-1]["attachments"]],
                         ["training.txt", "photo.jpg"])
        status, got, headers = self.request("GET", shown["timeline"][-1]["attachments"][0]["href"],
                                            self.cps)
        self.assertEqual(got, sample("training.txt"))
        self.assertEqual(headers["Content-Type"], "text/plain; charset=utf-8")

    def test_3_every_bad_upload_is_refused_and_writes_nothing(self):
        pdf = sample("policy.pdf")
        big = pdf[:-6] + b" " * 20000 + pdf[-6:]  # still a whole PDF, over the 20000-byte limit
        cases = [
            ("oversized", [("policy.pdf", big)], 413, "a file may be at most 20000"),
            ("disallowed", [("tool.exe", b"MZ\x90\x00\x03binary")], 422,
             "the file 'tool.exe' is not a kind of file rectrack keeps"),
            ("misnamed", [("policy.pdf", sample("photo.png"))], 422,
             "its name must end in .png"),
            ("empty", [("empty.pdf", b"")], 422, "the file 'empty.pdf' is empty"),
            ("truncated", [("policy.pdf", pdf[:len(pdf) // 2])], 422, "(truncated)"),
        ]
        for what, files, code, message in cases:
            before = self.written()
            body, content_type = multipart({"do": "close"}, files)
            status, raw, _ = self.request("POST", "/api/v1/recommendations/sw22-i2/events",
                                          self.cps, body, content_type)
            self.assertEqual(status, code, what + ": " + raw.decode())
            self.assertIn(message, json.loads(raw)["detail"], what)
            self.assertEqual(self.written(), before, what + " wrote something")
        # A transition that takes no evidence (the inspectorate's judgement is not the body's).
        before = self.written()
        body, content_type = multipart({"do": "start"}, [("training.txt", b"notes\n")])
        status, raw, _ = self.request("POST", "/api/v1/actions/sw22-i1-a4/events", self.cps, body,
                                      content_type)
        self.assertEqual(status, 422, raw)
        self.assertIn("'start' takes no evidence files", json.loads(raw)["detail"])
        self.assertEqual(self.written(), before)
        # A body whose closing boundary never comes: complete as HTTP, cut off as multipart.
        body, content_type = multipart({"do": "close"}, [("policy.pdf", pdf)])
        status, raw, _ = self.request("POST", "/api/v1/recommendations/sw22-i2/events", self.cps,
                                      body[:len(body) // 2], content_type)
        self.assertEqual(status, 400)
        self.assertIn("the body was cut off", json.loads(raw)["detail"])
        self.assertEqual(self.written(), before)
        # A connection that stops sending mid-file: nothing is handled, nothing written.
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as s:
            s.sendall(("POST /api/v1/recommendations/sw22-i2/events HTTP/1.1\r\nHost: x\r\n"
                       "Authorization: Bearer %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n"
                       "\r\n" % (self.cps, content_type, len(body))).encode() +
                      body[:len(body) // 2])
            s.shutdown(socket.SHUT_WR)
            s.settimeout(40)
            try:
                reply = s.recv(4096)
            except (ConnectionResetError, socket.timeout):
                reply = b""
            self.assertFalse(reply.startswith(b"HTTP/1.1 2"), reply)
        self.assertEqual(self.written(), before)
        # Bad multipart shapes: a clear 400.
        for body, message in ((b"--x\r\nContent-Disposition: form-data; name=\"event\"\r\n\r\n"
                               b"{}\r\n--x\r\nContent-Disposition: form-data; name=\"other\"\r\n"
                               b"\r\nx\r\n--x--", "unexpected part 'other'"),
                              (b"--x\r\nContent-Disposition: form-data; name=\"file\"; "
                               b"filename=\"a.txt\"\r\n\r\nx\r\n--x--", "no 'event' part")):
            status, raw, _ = self.request("POST", "/api/v1/recommendations/sw22-i2/events",
                                          self.cps, body, "multipart/form-data; boundary=x")
            self.assertEqual(status, 400, raw)
            self.assertIn(message, json.loads(raw)["detail"])
        self.assertEqual(self.written(), before)

    def test_3b_what_one_actor_may_store_in_a_day_is_bounded(self):
        pdf = os.path.join(SAMPLES, "policy.pdf")
        limit = os.path.getsize(pdf) + 1000  # room for the PDF, not for it and another
        env = dict(os.environ, RECTRACK_MAX_EVIDENCE_BYTES_PER_DAY=str(limit))
        run = lambda *args: subprocess.run(  # noqa: E731
            [BINARY, "--db", self.db, "--clock", "2025-12-01T08:00:00Z", "--actor", "cli:quota",
             *args], capture_output=True, text=True, timeout=60, env=env)
        first = run("record", "sw22-i1-a2", "close", "--by", "CPS", "--unit", "cps-sw-crown",
                    "--attach", pdf)
        self.assertEqual(first.returncode, 0, first.stderr)
        before = self.written()
        second = run("record", "sw22-i1-a3", "close", "--by", "CPS", "--unit", "cps-sw-mags",
                     "--attach", os.path.join(SAMPLES, "policy.docx"))
        self.assertEqual(second.returncode, 1)
        self.assertIn("the evidence files cli:quota attached on 2025-12-01 would come to",
                      second.stderr)
        self.assertIn("(max_evidence_bytes_per_day)", second.stderr)
        self.assertEqual(self.written(), before)

    def test_4_verify_names_a_file_altered_or_removed(self):
        self.cli("record", "da23-r2", "close", "--by", "CPS", "--effective", "2025-11-01",
                 "--attach", os.path.join(SAMPLES, "dip-sample.xlsx"))
        sha = hashlib.sha256(sample("dip-sample.xlsx")).hexdigest()
        for what, edit, message in (
                ("altered", "DROP TRIGGER evidence_no_update; UPDATE evidence SET content = "
                            "zeroblob(10) || substr(content, 11) WHERE sha256 = '%s'" % sha,
                 "was altered: its bytes hash to"),
                ("removed", "DROP TRIGGER evidence_no_delete; DELETE FROM evidence "
                            "WHERE sha256 = '%s'" % sha, "is missing")):
            copy = os.path.join(self.dir, what + ".db")
            self.sql("VACUUM INTO '%s'" % copy)
            self.sql(edit, db=copy)
            done = self.cli("verify", check=False, db=copy)
            self.assertEqual(done.returncode, 1, what)
            self.assertIn("evidence file 'dip-sample.xlsx' (sha256 %s) of event" % sha,
                          done.stderr)
            self.assertIn("(recommendation da23-r2 close) " + message, done.stderr)

    def test_5_backup_while_serving_verifies(self):
        target = os.path.join(self.dir, "backup")
        out = self.cli("backup", target)
        self.assertRegex(out, r"backed up .* to .*rectrack\.db: \d+ events and [1-9]\d* evidence "
                              r"files, verified")
        copy = os.path.join(target, "rectrack.db")
        self.assertRegex(self.cli("verify", db=copy), r"^OK: ")
        self.assertEqual(self.written(), self.sql("SELECT (SELECT count(*) FROM events) || '/' ||"
                                                  " (SELECT count(*) FROM evidence)", db=copy))
        self.assertFalse(os.path.exists(copy + "-wal"), "a plain file, ready to archive")
        again = self.cli("backup", target, check=False)
        self.assertNotEqual(again.returncode, 0)
        self.assertIn("exists already", again.stderr)
        # A database that does not verify leaves no copy that looks like a backup, and says
        # that the database itself is what failed.
        tampered = os.path.join(self.dir, "tampered.db")
        self.sql("VACUUM INTO '%s'" % tampered)
        self.sql("DROP TRIGGER events_no_update; UPDATE events SET note = 'x' WHERE seq = 12",
                 db=tampered)
        elsewhere = os.path.join(self.dir, "backup-of-tampered")
        refused = self.cli("backup", elsewhere, check=False, db=tampered)
        self.assertEqual(refused.returncode, 1, refused.stderr)
        self.assertIn("the backup of %s does not verify, so it was removed" % tampered,
                      refused.stderr)
        self.assertIn("event 12", refused.stderr)
        self.assertFalse(os.path.exists(elsewhere), "the directory it made is gone too")


if __name__ == "__main__":
    unittest.main(verbosity=2)
