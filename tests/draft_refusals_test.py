#!/usr/bin/python3
"""`rectrack draft` refuses what is not a readable report with a clear error, never a crash or a
hang (issue 18): an empty file, a file over the size limit, an encrypted PDF (qpdf), a PDF cut
short, a DOCX whose XML is broken, a spreadsheet, a picture, a scanned PDF with no text, and a
converter that hangs (killed at RECTRACK_DOCUMENT_TIMEOUT_SECONDS with whatever it started). Each
refusal exits 1, names the file and what is wrong, and writes no draft; a draft that is written
is refused by `import` until reviewed.

Usage: draft_refusals_test.py RECTRACK_BINARY SOURCE_DIR. Exits 77 (skipped) when pandoc,
weasyprint, pdftotext or qpdf is missing, unless RECTRACK_REQUIRE_TOOLS=1.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
import struct
import zipfile

BINARY, SOURCE = (os.path.abspath(sys.argv.pop(1)), os.path.abspath(sys.argv.pop(1))) \
    if len(sys.argv) > 2 else (None, None)
TOOLS = {"pandoc": "pandoc", "weasyprint": "weasyprint", "pdftotext": "poppler-utils",
         "qpdf": "qpdf"}
for tool, package in TOOLS.items():
    if not shutil.which(tool):
        print("skipped: %s (%s) is not installed" % (tool, package))
        sys.exit(1 if os.environ.get("RECTRACK_REQUIRE_TOOLS") == "1" else 77)


class DraftRefusalsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="rectrack-draft-refusals-")
        cls.db = os.path.join(cls.dir, "r.db")
        subprocess.run([BINARY, "--db", cls.db, "import",
                        os.path.join(SOURCE, "demo", "domestic-abuse.yaml")],
                       check=True, capture_output=True, timeout=60)
        # A good report as PDF, to make the bad ones from.
        md = os.path.join(SOURCE, "tests", "data", "reports", "da23.md")
        html = os.path.join(cls.dir, "da23.html")
        subprocess.run(["pandoc", md, "-s", "-o", html, "--metadata", "title=da23"],
                       check=True, capture_output=True, timeout=60)
        cls.pdf = os.path.join(cls.dir, "da23.pdf")
        subprocess.run(["weasyprint", html, cls.pdf], check=True, capture_output=True, timeout=120)
        cls.docx = os.path.join(cls.dir, "da23.docx")
        subprocess.run(["pandoc", md, "-o", cls.docx], check=True, capture_output=True, timeout=60)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def write(self, name, data):
        path = os.path.join(self.dir, name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def draft(self, path, env=None, timeout=60):
        out = os.path.join(self.dir, "out.yaml")
        if os.path.exists(out):
            os.remove(out)
        started = time.monotonic()
        done = subprocess.run(
            [BINARY, "--db", self.db, "draft", path, "--inspection", "t25", "--published",
             "2025-01-01", "-o", out],
            capture_output=True, text=True, timeout=timeout,
            env=dict(os.environ, **(env or {})))
        return done, os.path.exists(out), time.monotonic() - started

    def refused_with(self, path, env, *words):
        return self.refused(path, *words, env=env)

    def refused(self, path, *words, env=None):
        done, wrote, _ = self.draft(path, env)
        self.assertEqual(done.returncode, 1, done.stdout + done.stderr)
        self.assertFalse(wrote, "a refused report left a draft")
        message = done.stderr.lower()
        self.assertIn("rectrack: error:", message)
        for word in words:
            self.assertIn(word.lower(), message)
        return done.stderr

    def test_empty(self):
        self.refused(self.write("empty.pdf", b""), "empty")

    def test_over_the_size_limit(self):
        path = os.path.join(self.dir, "huge.txt")
        with open(path, "wb") as f:
            f.truncate(21 << 20)  # sparse: the limit is checked before reading
        self.refused(path, "huge.txt", "at most")

    def test_encrypted_pdf(self):
        locked = os.path.join(self.dir, "locked.pdf")
        subprocess.run(["qpdf", "--encrypt", "user-secret", "owner-secret", "256", "--",
                        self.pdf, locked], check=True, timeout=60)
        self.refused(locked, "locked.pdf", "could not be read", "pdftotext")

    def test_pdf_cut_short(self):
        with open(self.pdf, "rb") as f:
            data = f.read()
        self.refused(self.write("cut.pdf", data[:len(data) // 2]), "cut short")

    def test_docx_with_broken_xml(self):
        broken = os.path.join(self.dir, "broken.docx")
        with zipfile.ZipFile(self.docx) as src, zipfile.ZipFile(broken, "w") as dst:
            for item in src.infolist():
                data = src.read(item)
                if item.filename == "word/document.xml":
                    data = data[:len(data) // 2]  # the XML stops mid-element
                dst.writestr(item, data)
        self.refused(broken, "broken.docx", "could not be read")

    def test_a_docx_that_unpacks_to_far_more_is_refused_unread(self):
        # A zip bomb: a file of a few hundred KB whose text unpacks to 100 MB. Refused from its
        # ZIP directory, before pandoc spends a minute of the one converter slot on it.
        bomb = os.path.join(self.dir, "bomb.docx")
        with zipfile.ZipFile(self.docx) as src, \
                zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as dst:
            for item in src.infolist():
                data = src.read(item)
                if item.filename == "word/document.xml":
                    data = data.replace(b"</w:body>", b"<w:p><w:r><w:t>" + b"a" * (100 << 20) +
                                        b"</w:t></w:r></w:p></w:body>")
                dst.writestr(item.filename, data)
        self.assertLess(os.path.getsize(bomb), 1 << 20)
        self.refused(bomb, "bomb.docx", "unpacks to", "at most 67108864 bytes unpacked")

    def test_a_zip_directory_that_cannot_be_read_is_refused(self):
        with open(self.docx, "rb") as f:
            data = bytearray(f.read())
        end = data.rindex(b"PK\x05\x06")
        data[end + 16:end + 20] = struct.pack("<I", len(data) + 1000)  # the directory's offset
        self.refused(self.write("damaged.docx", bytes(data)), "damaged.docx",
                     "its zip directory cannot be read")

    def test_a_converter_out_of_memory_is_too_large(self):
        # A directory that lies about its sizes is bounded by pandoc's heap (+RTS -M): a
        # converter that runs out of it (GHC's exit 251) is a report too large, not a failure.
        fake = self.write("pandoc-out-of-memory.sh",
                          b'#!/bin/sh\n[ "$1 $2 $3" = "+RTS -M2048m -RTS" ] || exit 3\nexit 251\n')
        os.chmod(fake, 0o755)
        self.refused_with(self.docx, {"RECTRACK_PANDOC": fake}, "needs more than 2048 mib")

    def test_spreadsheet_and_picture(self):
        book = os.path.join(self.dir, "book.xlsx")
        with zipfile.ZipFile(book, "w") as z:
            z.writestr("[Content_Types].xml", "<Types/>")
            z.writestr("xl/workbook.xml", "<workbook/>")
        self.refused(book, "not a docx or odt")
        self.refused(self.write("photo.png", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4),
                     "not a report")

    def test_scanned_pdf_has_no_text(self):
        html = self.write("blank.html", b"<!DOCTYPE html><html><head><title>x</title></head>"
                                        b"<body><div style='height:200px;background:#000'></div>"
                                        b"</body></html>")
        blank = os.path.join(self.dir, "blank.pdf")
        subprocess.run(["weasyprint", html, blank], check=True, capture_output=True, timeout=120)
        self.refused(blank, "no text")

    def test_a_hanging_converter_is_stopped(self):
        marker = "sleep 301.%d" % os.getpid()
        hang = self.write("hang.sh", ("#!/bin/sh\n%s &\nwait\n" % marker).encode())
        os.chmod(hang, 0o755)
        done, wrote, took = self.draft(self.pdf, env={"RECTRACK_PDFTOTEXT": hang,
                                                      "RECTRACK_DOCUMENT_TIMEOUT_SECONDS": "2"})
        self.assertEqual(done.returncode, 1, done.stderr)
        self.assertFalse(wrote)
        self.assertIn("longer than 2 s", done.stderr)
        self.assertLess(took, 20)
        left = subprocess.run(["pgrep", "-f", marker], capture_output=True, text=True)
        self.assertEqual(left.stdout.strip(), "", "the converter's child outlived it")

    def test_an_html_report_fetches_nothing(self):
        """pandoc runs sandboxed: what a report links (an iframe, an image) is not fetched."""
        import http.server
        import threading
        asked = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                asked.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.end_headers()
                self.wfile.write(b"<p>SECRET-FROM-THE-NETWORK</p>")

            def log_message(self, *args):
                pass

        server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            url = "http://127.0.0.1:%d/internal" % server.server_address[1]
            page = self.write("linked.html", (
                "<!DOCTYPE html><html><head><title>Report</title></head><body>"
                "<h1>Report</h1><h2>Recommendations</h2><ol><li>By June 2025, the CPS should act."
                "</li></ol><iframe src='%s'></iframe><img src='%s.png'></body></html>"
                % (url, url)).encode())
            done, wrote, _ = self.draft(page)
        finally:
            server.shutdown()
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(asked, [])
        with open(os.path.join(self.dir, "out.yaml"), encoding="utf-8") as f:
            self.assertNotIn("SECRET", f.read())

    def test_output_to_a_device_or_through_a_link(self):
        """-o /dev/stdout writes to it (no file renamed over a device); a link stays a link."""
        done = subprocess.run([BINARY, "--db", self.db, "draft", self.docx, "--inspection", "t26",
                               "--published", "2025-01-01", "-o", "/dev/stdout"],
                              capture_output=True, text=True, timeout=60)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn("reviewed: false", done.stdout)
        self.assertTrue(os.path.exists("/dev/stdout"))
        link = os.path.join(self.dir, "link.yaml")
        os.symlink("real.yaml", link)
        done = subprocess.run([BINARY, "--db", self.db, "draft", self.docx, "--inspection", "t26",
                               "--published", "2025-01-01", "-o", link],
                              capture_output=True, text=True, timeout=60)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertTrue(os.path.islink(link))
        with open(os.path.join(self.dir, "real.yaml"), encoding="utf-8") as f:
            self.assertIn("reviewed: false", f.read())

    def test_a_good_report_drafts_and_waits_for_review(self):
        done, wrote, _ = self.draft(self.docx)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertTrue(wrote)
        self.assertIn("6 recommendations", done.stdout)
        out = os.path.join(self.dir, "out.yaml")
        refused = subprocess.run([BINARY, "--db", self.db, "import", out], capture_output=True,
                                 text=True, timeout=60)
        self.assertEqual(refused.returncode, 1)
        self.assertIn("not been reviewed", refused.stderr)


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"])
