#!/usr/bin/python3
"""Annex A and the progress report as DOCX, ODT and PDF (issue 16), read back by real readers,
from a real `rectrack serve` on 127.0.0.1 and from the command line, over the demo data:

- DOCX: docx2txt (Debian) reads every recommendation, note and caption back; the document's XML
  has a header row repeated on every page in each table, notes in italics, a title and language;
- ODT: odt2txt (Debian) reads them back; each table has header rows;
- PDF: pdftotext (poppler-utils) finds every recommendation and note, `pdfinfo` shows it tagged,
  titled and A4, `qpdf --check` passes, and every page is numbered;
- a converter that hangs is killed at the timeout, answered 503 with Retry-After, and the server
  goes on answering meanwhile; more conversions than `documents_at_once` are refused at once; a
  converter that fails is a clear 500, not a hang.

Usage: documents_test.py RECTRACK_BINARY SOURCE_DIR. Exits 77 (skipped) when a reader or
converter is missing, unless RECTRACK_REQUIRE_TOOLS=1.
"""
import html
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request
import zipfile

BINARY, SOURCE = (os.path.abspath(sys.argv.pop(1)), os.path.abspath(sys.argv.pop(1))) \
    if len(sys.argv) > 2 else (None, None)
TOOLS = {"pandoc": "pandoc", "weasyprint": "weasyprint", "docx2txt": "docx2txt",
         "odt2txt": "odt2txt", "pdftotext": "poppler-utils", "pdfinfo": "poppler-utils",
         "qpdf": "qpdf"}

for tool, package in TOOLS.items():
    if not shutil.which(tool):
        message = "%s is not installed (Debian %s; deploy/install-deps.sh installs it)" % (
            tool, package)
        if os.environ.get("RECTRACK_REQUIRE_TOOLS") == "1":
            sys.exit("required tool missing: " + message)
        print("skipped: " + message)
        sys.exit(77)


def words(text):
    """Text with its whitespace collapsed (readers wrap lines where they like) and character
    references decoded (docx2txt leaves pandoc's &#39; as it is)."""
    return " ".join(html.unescape(text).split())


def unhyphenated(text):
    """pdftotext joins a word broken after a hyphen at a line's end, dropping the hyphen
    ("pre-charge" at a line break reads "precharge"): compare PDF text without hyphens."""
    return words(text).replace("-", "")


def start_server(db, env_extra):
    server = subprocess.Popen(
        [BINARY, "--db", db, "--clock", "2025-12-01T08:00:00Z", "serve", "--listen",
         "127.0.0.1:0"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env=dict(os.environ, **env_extra))
    line = server.stdout.readline()
    match = re.search(r"on (http://127\.0\.0\.1:\d+)", line)
    if not match:
        server.kill()
        raise RuntimeError("serve did not start: " + line)
    return server, match.group(1)


class DocumentsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="rectrack-documents-")
        cls.db = os.path.join(cls.dir, "documents.db")
        cls.run_cli("import", *[os.path.join(SOURCE, "demo", f) for f in
                                ("domestic-abuse.yaml", "more-bodies.yaml", "cps-south-west.yaml")])
        cls.token = cls.run_cli("token", "create", "--role", "inspectorate").splitlines()[0]
        # A house style: pandoc's reference document with the title in GOV.UK blue. The main
        # server and the command line are given it (RECTRACK_REFERENCE_DOCX).
        style = os.path.join(cls.dir, "house-style.docx")
        default = subprocess.run(["pandoc", "--print-default-data-file", "reference.docx"],
                                 capture_output=True, timeout=60, check=True).stdout
        with zipfile.ZipFile(io.BytesIO(default)) as source, \
                zipfile.ZipFile(style, "w", zipfile.ZIP_DEFLATED) as target:
            for item in source.infolist():
                data = source.read(item.filename)
                if item.filename == "word/styles.xml":
                    data = data.decode().replace(
                        '<w:color w:val="345A8A" w:themeColor="accent1" w:themeShade="B5" />',
                        '<w:color w:val="1D70B8" />', 1).encode()
                    assert b"1D70B8" in data
                target.writestr(item, data)
        os.environ["RECTRACK_REFERENCE_DOCX"] = style
        # A second server whose PDF converter hangs (and starts a child that would outlive it),
        # whose DOCX converter fails, with room for one conversion at a time.
        cls.hang_marker = "sleep 300.%d" % os.getpid()  # how pgrep tells the child from others
        hang = os.path.join(cls.dir, "hang.sh")
        with open(hang, "w") as f:
            f.write("#!/bin/sh\n%s &\nwait\n" % cls.hang_marker)
        os.chmod(hang, 0o755)
        fail = os.path.join(cls.dir, "fail.sh")
        with open(fail, "w") as f:
            f.write("#!/bin/sh\necho 'pandoc: cannot read the input' >&2\nexit 64\n")
        os.chmod(fail, 0o755)
        cls.slow_db = os.path.join(cls.dir, "slow.db")
        shutil.copy(cls.db, cls.slow_db)  # no server has it open yet: a whole copy
        cls.slow_server, cls.slow_base = start_server(cls.slow_db, {
            "RECTRACK_WEASYPRINT": hang, "RECTRACK_PANDOC": fail,
            "RECTRACK_DOCUMENT_TIMEOUT_SECONDS": "3", "RECTRACK_DOCUMENTS_AT_ONCE": "1"})
        cls.server, cls.base = start_server(cls.db, {})
        cls.annex = json.loads(cls.get(cls.base, "/api/v1/reports/annex?body=CPS&as_of=2025-03-31")[1])

    @classmethod
    def tearDownClass(cls):
        for server in (cls.server, cls.slow_server):
            server.terminate()
            server.wait(timeout=15)
        shutil.rmtree(cls.dir, ignore_errors=True)

    @classmethod
    def run_cli(cls, *args, check=True):
        return subprocess.run([BINARY, "--db", cls.db, *args], capture_output=True, text=True,
                              timeout=120, check=check).stdout

    @classmethod
    def get(cls, base, path, timeout=60):
        request = urllib.request.Request(base + path,
                                         headers={"Authorization": "Bearer " + cls.token})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:
                return answer.status, answer.read(), answer.headers
        except urllib.error.HTTPError as error:
            return error.code, error.read(), error.headers

    def document(self, path, media_type, file_name):
        status, raw, headers = self.get(self.base, path)
        self.assertEqual(status, 200, raw[:500])
        self.assertEqual(headers["Content-Type"], media_type)
        self.assertEqual(headers["Content-Disposition"], 'attachment; filename="%s"' % file_name)
        saved = os.path.join(self.dir, file_name)
        with open(saved, "wb") as f:
            f.write(raw)
        return saved

    def cli_document(self, report, fmt, *args):
        out = os.path.join(self.dir, "cli-%s.%s" % (report, fmt))
        self.run_cli("report", report, "--body", "CPS", *args, "--format", fmt, "--output", out)
        return out

    def assert_has_the_annex(self, text, norm=words):
        text = norm(text)
        self.assertGreater(len(self.annex["open"]) + len(self.annex["closed"]), 2)
        self.assertIn(norm("Annex A: " + self.annex["body_name"] + " (CPS)"), text)
        self.assertIn(norm("Table of open recommendations as at 31 March 2025"), text)
        self.assertIn(norm("%d recommendations closed by the CPS in 2024-25" %
                           len(self.annex["closed"])), text)
        notes = 0
        for row in self.annex["open"] + self.annex["closed"]:
            self.assertIn(norm(row["text"]), text)
            if row["note"]:
                self.assertIn(norm(row["note"]), text)
                notes += 1
            if "quarter" in row:
                self.assertIn(row["quarter"], text)
        self.assertGreater(notes, 0, "the example has notes to check")

    def test_annex_a_as_docx_read_back_by_docx2txt(self):
        for path in (self.document("/api/v1/reports/annex?body=CPS&as_of=2025-03-31&format=docx",
                                   "application/vnd.openxmlformats-officedocument."
                                   "wordprocessingml.document", "annex-a-CPS-2025-03-31.docx"),
                     self.cli_document("annex", "docx", "--as-of", "2025-03-31")):
            text = subprocess.run(["docx2txt", path, "-"], capture_output=True, text=True,
                                  timeout=60, check=True).stdout
            self.assert_has_the_annex(text)
            with zipfile.ZipFile(path) as docx:
                xml = docx.read("word/document.xml").decode()
                core = docx.read("docProps/core.xml").decode()
                styles = docx.read("word/styles.xml").decode()
            self.assertEqual(xml.count("<w:tbl>"), 2, "two real tables")
            self.assertEqual(len(re.findall(r'<w:tblHeader w:val="true" ?/>', xml)), 2,
                             "each table's header row repeats on every page")
            self.assertIn('w:val="Title"', xml)
            self.assertIn("TableCaption", xml)
            self.assertIn("<dc:title>Annex A: ", core)
            # The house style's title colour: the reference document's styles were taken.
            self.assertIn('<w:color w:val="1D70B8" />', styles)
            self.assertIn("<dc:language>en</dc:language>", core)
            for row in self.annex["open"] + self.annex["closed"]:
                if row["note"]:
                    # The note's run is italic: <w:r><w:rPr><w:i /></w:rPr><w:t>note...
                    first_words = re.escape(" ".join(row["note"].split()[:3]))
                    self.assertRegex(xml, r"<w:i ?/>(?:(?!</w:r>).)*" + first_words,
                                     "notes are in italics")

    def test_annex_a_as_odt_read_back_by_odt2txt(self):
        for path in (self.document("/api/v1/reports/annex?body=CPS&as_of=2025-03-31&format=odt",
                                   "application/vnd.oasis.opendocument.text",
                                   "annex-a-CPS-2025-03-31.odt"),
                     self.cli_document("annex", "odt", "--as-of", "2025-03-31")):
            text = subprocess.run(["odt2txt", "--width=-1", path], capture_output=True,
                                  text=True, timeout=60, check=True).stdout
            self.assert_has_the_annex(text)
            with zipfile.ZipFile(path) as odt:
                content = odt.read("content.xml").decode()
            self.assertEqual(content.count("<table:table-header-rows>"), 2)

    def check_pdf(self, path, title):
        info = subprocess.run(["pdfinfo", path], capture_output=True, text=True, timeout=60,
                              check=True).stdout
        self.assertRegex(info, r"Tagged:\s+yes")
        self.assertRegex(info, r"Title:\s+" + re.escape(title))
        self.assertRegex(info, r"Page size:\s+595\.\d+ x 841\.\d+ pts \(A4\)")
        pages = int(re.search(r"Pages:\s+(\d+)", info).group(1))
        check = subprocess.run(["qpdf", "--check", path], capture_output=True, text=True,
                               timeout=60)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
        text = subprocess.run(["pdftotext", path, "-"], capture_output=True, text=True,
                              timeout=60, check=True).stdout
        for page in range(1, pages + 1):
            self.assertIn("Page %d of %d" % (page, pages), text)
        return text

    def test_annex_a_as_pdf_tagged_titled_and_read_back_by_pdftotext(self):
        title = "Annex A: " + self.annex["body_name"] + " (CPS)"
        for path in (self.document("/api/v1/reports/annex?body=CPS&as_of=2025-03-31&format=pdf",
                                   "application/pdf", "annex-a-CPS-2025-03-31.pdf"),
                     self.cli_document("annex", "pdf", "--as-of", "2025-03-31")):
            self.assert_has_the_annex(self.check_pdf(path, title), unhyphenated)

    def test_no_pdf_page_ends_with_a_tables_caption(self):
        """The second table's caption must go with its first row: the annex's own HTML and style,
        its first table padded a row at a time so that the second table starts at every height
        of a page, each made into a PDF by WeasyPrint and read back a page at a time."""
        annex_html = self.run_cli("report", "annex", "--body", "CPS", "--as-of", "2025-03-31",
                                  "--format", "html")
        tables = annex_html.split("<table>")
        self.assertEqual(len(tables), 3, "two tables")
        rows = re.findall(r"<tr>.*?</tr>", tables[1].split("<tbody>")[1], re.S)
        self.assertGreater(len(rows), 0)
        captions = [words(html.unescape(c)) for c in
                    re.findall(r"<caption>(.*?)</caption>", annex_html, re.S)]
        self.assertEqual(len(captions), 2)
        page_counts = set()
        for extra in range(0, 28):
            padded = tables[1].replace("</tbody>", "".join(
                rows[i % len(rows)] for i in range(extra)) + "</tbody>", 1)
            source = os.path.join(self.dir, "padded.html")
            with open(source, "w") as f:
                f.write("<table>".join([tables[0], padded, tables[2]]))
            pdf = os.path.join(self.dir, "padded.pdf")
            subprocess.run(["weasyprint", "-q", source, pdf], timeout=120, check=True)
            pages = int(re.search(r"Pages:\s+(\d+)", subprocess.run(
                ["pdfinfo", pdf], capture_output=True, text=True, timeout=60,
                check=True).stdout).group(1))
            page_counts.add(pages)
            for page in range(1, pages + 1):
                text = subprocess.run(["pdftotext", "-f", str(page), "-l", str(page), pdf, "-"],
                                      capture_output=True, text=True, timeout=60,
                                      check=True).stdout
                lines = [words(line) for line in text.splitlines() if line.strip()]
                # The page number comes last; the line before it is the page's last content.
                last = lines[-2] if lines[-1].startswith("Page ") else lines[-1]
                for caption in captions:
                    self.assertFalse(last == caption or
                                     (len(last) > 12 and caption.endswith(last)),
                                     "page %d of %d ends with the caption '%s' (%d rows added)"
                                     % (page, pages, caption, extra))
        # Padded by more than a page: the second table started at every height of one.
        self.assertGreater(len(page_counts), 2, "the second table started at many heights")

    def test_progress_report_as_every_document(self):
        report = json.loads(self.get(
            self.base, "/api/v1/reports/progress?body=CPS&as_of=2025-12-01")[1])
        self.assertGreater(len(report["recommendations"]), 0)
        for fmt, media_type in (("docx", "application/vnd.openxmlformats-officedocument."
                                         "wordprocessingml.document"),
                                ("odt", "application/vnd.oasis.opendocument.text"),
                                ("pdf", "application/pdf")):
            path = self.document("/api/v1/reports/progress?body=CPS&as_of=2025-12-01&format=" +
                                 fmt, media_type, "progress-CPS-2025-12-01." + fmt)
            reader = {"docx": ["docx2txt", path, "-"], "odt": ["odt2txt", "--width=-1", path],
                      "pdf": ["pdftotext", path, "-"]}[fmt]
            if fmt == "pdf":
                self.check_pdf(path, "Progress of " + report["body_name"] + " on its actions")
            norm = unhyphenated if fmt == "pdf" else words
            text = norm(subprocess.run(reader, capture_output=True, text=True, timeout=60,
                                       check=True).stdout)
            self.assertIn(norm("Progress of " + report["body_name"] + " on its actions"), text,
                          fmt)
            for rec in report["recommendations"]:
                self.assertIn(norm(rec["id"] + " (" + rec["state"] + ")"), text, fmt)
                self.assertIn(norm(rec["text"]), text, fmt)
            for unit in report["units"]:
                self.assertIn(norm(unit["name"]), text, fmt)

    def test_a_document_needs_a_file_on_the_command_line(self):
        done = subprocess.run([BINARY, "--db", self.db, "report", "annex", "--body", "CPS",
                               "--format", "pdf"], capture_output=True, text=True, timeout=60)
        self.assertNotEqual(done.returncode, 0)
        self.assertIn("--format pdf writes a file: give --output FILE.pdf", done.stderr)

    def test_a_hanging_converter_is_killed_and_the_server_keeps_answering(self):
        results = {}

        def ask_for_pdf():
            start = time.monotonic()
            results["pdf"] = self.get(self.slow_base,
                                      "/api/v1/reports/annex?body=CPS&format=pdf")
            results["took"] = time.monotonic() - start

        asker = threading.Thread(target=ask_for_pdf)
        asker.start()
        time.sleep(0.8)  # the converter is running now
        # Meanwhile: reads answer at once, and a second document is refused, not queued.
        for path in ("/healthz", "/api/v1/recommendations?limit=5"):
            start = time.monotonic()
            status, _, _ = self.get(self.slow_base, path)
            self.assertEqual(status, 200, path)
            self.assertLess(time.monotonic() - start, 1.0, path + " waited for the converter")
        start = time.monotonic()
        status, body, headers = self.get(self.slow_base, "/api/v1/reports/progress?body=CPS"
                                                         "&format=pdf")
        self.assertEqual(status, 503, body)
        self.assertLess(time.monotonic() - start, 1.0)
        self.assertEqual(headers["Retry-After"], "5")
        self.assertIn("1 documents are being made already", json.loads(body)["detail"])
        asker.join(timeout=30)
        status, body, headers = results["pdf"]
        self.assertEqual(status, 503, body)
        self.assertEqual(headers["Content-Type"], "application/problem+json")
        self.assertRegex(json.loads(body)["detail"], r"did not finish within 3 s and was stopped")
        self.assertGreaterEqual(results["took"], 3)
        self.assertLess(results["took"], 10)
        # It and the child it started are gone.
        left = subprocess.run(["pgrep", "-f", self.hang_marker], capture_output=True, text=True)
        self.assertEqual(left.stdout.strip(), "", "the hanging converter was left running")

    def test_a_failing_converter_is_a_clear_500(self):
        status, body, _ = self.get(self.slow_base, "/api/v1/reports/annex?body=CPS&format=docx")
        self.assertEqual(status, 500)
        self.assertRegex(json.loads(body)["detail"],
                         r"fail\.sh could not make the docx \(exit 64\): pandoc: cannot read")


if __name__ == "__main__":
    unittest.main(verbosity=2)
