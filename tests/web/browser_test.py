#!/usr/bin/env python3
"""The web workspace in real Chromium (Debian's chromium and chromedriver, driven by Debian's
python3-selenium), against a real `rectrack serve` on 127.0.0.1 over the demo data.

The journeys of issue 14: a CPS lead signs in, follows the dashboard to an overdue
recommendation, records progress, closes an action, is refused closing a recommendation with
open actions (error summary) and closes it with an override; the inspectorate assesses it as not
achieved and superseded, and a page already open learns of the change; a unit lead cannot see or
act on another unit's action, a reader sees no forms; <script> in a note stays text; a POST
without the CSRF token writes nothing; a session id stops working after sign-out; sign-in is
throttled; every page passes axe-core (npm) with zero violations; and everything works with
JavaScript disabled. Screenshots of each page go to $RECTRACK_SCREENSHOTS (default
build/web-screenshots).

Usage: browser_test.py RECTRACK_BINARY SOURCE_DIR. Exits 77 (skipped) when chromium,
chromedriver or selenium is missing, unless RECTRACK_REQUIRE_TOOLS=1.
"""
import atexit
import base64
import csv as csv_module
import hashlib
import hmac
import io
import json
import os
import struct
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

BINARY, SOURCE = sys.argv[1], sys.argv[2]
CLOCK = "2025-12-01T08:00:00Z"
PASSWORD = "correct horse battery"
SHOTS = os.environ.get("RECTRACK_SCREENSHOTS", os.path.join(os.path.dirname(BINARY), "..",
                                                             "web-screenshots"))


def skip(why):
    if os.environ.get("RECTRACK_REQUIRE_TOOLS") == "1":
        print("required tool missing: " + why)
        sys.exit(1)
    print("skipped: " + why)
    sys.exit(77)


try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.support.ui import Select, WebDriverWait
except ImportError:
    skip("python3-selenium is not installed")
for tool in ("/usr/bin/chromium", "/usr/bin/chromedriver"):
    if not os.path.exists(tool):
        skip(tool + " is not installed (deploy/install-deps.sh installs it)")
AXE = os.path.join(SOURCE, "node_modules", "axe-core", "axe.min.js")
if not os.path.exists(AXE):
    skip("axe-core is not installed (npm ci)")


def rectrack(db, *args, stdin=None):
    env = dict(os.environ, RECTRACK_CLOCK=CLOCK)
    return subprocess.run([BINARY, "--db", db, *args], input=stdin, capture_output=True,
                          text=True, env=env, timeout=60, check=True).stdout


class Server:
    def __init__(self, *serve_flags, env=None, before_serving=None):
        self.dir = tempfile.mkdtemp(prefix="rectrack-web-")
        self.db = os.path.join(self.dir, "web.db")
        rectrack(self.db, "import", *[os.path.join(SOURCE, "demo", f) for f in
                                      ("domestic-abuse.yaml", "more-bodies.yaml",
                                       "cps-south-west.yaml")])
        for email, scope in (("lead@cps.example", ["body_lead", "--body", "CPS"]),
                             ("sw@cps.example", ["body_lead", "--body", "CPS", "--unit", "cps-sw"]),
                             ("staff@hmcpsi.example", ["inspectorate"]),
                             ("reader@ago.example", ["reader"]),
                             ("lead@sfo.example", ["body_lead", "--body", "SFO"])):
            rectrack(self.db, "user", "add", "--email", email, "--role", *scope,
                     stdin=PASSWORD + "\n")
        if before_serving:
            before_serving(self.db)
        self.process = subprocess.Popen(
            [BINARY, "--db", self.db, "--clock", CLOCK, "serve", "--listen", "127.0.0.1:0",
             *serve_flags],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env=dict(os.environ, **(env or {})))
        line = self.process.stdout.readline()
        match = re.search(r"on (http://127\.0\.0\.1:\d+)", line)
        if not match:
            self.process.kill()
            raise RuntimeError("serve did not start: " + line)
        self.url = match.group(1)

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
        shutil.rmtree(self.dir, ignore_errors=True)

    def timeline(self, item):
        return json.loads(rectrack(self.db, "show", item, "--format", "json"))["timeline"]

    def wait_until_histories_are_let_go(self):
        """serve answers while its alerts' first pass and first raise still hold the histories
        its start read; this waits (at most a minute) until /metrics says they are let go."""
        token = rectrack(self.db, "token", "create", "--role", "inspectorate").splitlines()[0]
        deadline = time.monotonic() + 60
        while True:
            request = urllib.request.Request(self.url + "/metrics",
                                             headers={"Authorization": "Bearer " + token})
            with urllib.request.urlopen(request, timeout=10) as answer:
                metrics = answer.read().decode()
            left = [int(line.split()[1]) for line in metrics.splitlines()
                    if line.startswith(("rectrack_histories_to_let_go ",
                                        "rectrack_alerts_first_pass_items_left "))]
            if len(left) == 2 and left == [0, 0]:
                return
            if time.monotonic() > deadline:
                raise AssertionError("histories still held a minute after the start: " + str(left))
            time.sleep(0.05)


def totp(secret, step):
    """RFC 6238, written here independently of rectrack's own."""
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    mac = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    return "%06d" % ((struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF) % 1000000)


def wait_for_new_page(driver, old_page):
    """Waits until `old_page` (the <html> element of the page before) has gone. Chromium reports
    a gone element as stale, or, while the next page loads, as "not in the document": both mean
    gone."""
    def gone(_):
        try:
            old_page.is_enabled()
            return False
        except WebDriverException:  # StaleElementReferenceException is one
            return True
    WebDriverWait(driver, 20).until(gone)


# Chromium leaves a directory of its own in $TMPDIR for each session: in one of ours, removed
# when the tests end.
CHROMIUM_TMP = tempfile.mkdtemp(prefix="rectrack-chromium-")
atexit.register(shutil.rmtree, CHROMIUM_TMP, ignore_errors=True)


def browser(javascript=True):
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--window-size=1280,1600"):
        options.add_argument(argument)
    if not javascript:
        options.add_experimental_option(
            "prefs", {"profile.managed_default_content_settings.javascript": 2})
    service = Service("/usr/bin/chromedriver", env={**os.environ, "TMPDIR": CHROMIUM_TMP})
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(30)
    return driver


def page_icons(driver):
    """The page's icons, as the browser fetches them: [path, content type, status] each."""
    return driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        Promise.all([...document.querySelectorAll("link[rel=icon]")].map(link =>
            fetch(link.href).then(r => [new URL(link.href).pathname,
                                        r.headers.get("Content-Type"), r.status])))
          .then(done, e => done(String(e)));""")


class WebWorkspaceTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server()
        with open(AXE, encoding="utf-8") as f:
            cls.axe = f.read()
        os.makedirs(SHOTS, exist_ok=True)
        cls.drivers = []

    @classmethod
    def tearDownClass(cls):
        for driver in cls.drivers:
            driver.quit()
        cls.server.stop()

    def new_browser(self, javascript=True):
        driver = browser(javascript)
        self.drivers.append(driver)
        return driver

    def submit(self, driver, element):
        """Clicks a button or link and waits for the page it leads to (a click returns before
        the browser has navigated)."""
        page = driver.find_element(By.TAG_NAME, "html")
        element.click()
        wait_for_new_page(driver, page)

    def go(self, driver, path):
        driver.get(self.server.url + path)

    def sign_in(self, driver, email):
        self.go(driver, "/sign-in")
        driver.find_element(By.ID, "email").send_keys(email)
        driver.find_element(By.ID, "password").send_keys(PASSWORD)
        self.submit(driver, driver.find_element(By.CSS_SELECTOR, "form[action='/sign-in'] button"))
        self.assertIn("Dashboard", driver.title)

    def check_page(self, driver, name):
        """axe-core on the page as shown: zero violations of WCAG 2.x A and AA; a screenshot."""
        driver.save_screenshot(os.path.join(SHOTS, name + ".png"))
        self.assertEqual(len(driver.find_elements(By.TAG_NAME, "h1")), 1, name + ": one h1")
        driver.execute_script(self.axe)
        result = driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a',"
            " 'wcag21aa', 'wcag22aa']}}).then(r => done(r.violations.map(v => v.id + ': ' +"
            " v.help + ' ' + v.nodes.map(n => n.target.join(' ')).join(', '))));")
        self.assertEqual(result, [], name + ": axe violations")

    def open_form(self, driver, transition):
        summary = driver.find_element(
            By.XPATH, "//details[.//input[@name='do' and @value='%s']]/summary" % transition)
        details = summary.find_element(By.XPATH, "..")
        if details.get_attribute("open") is None:
            summary.click()
        return details

    def test_1_cps_lead_journey(self):
        driver = self.new_browser()
        self.sign_in(driver, "lead@cps.example")
        self.check_page(driver, "dashboard")
        # The dashboard's overdue count leads to the overdue list.
        self.submit(driver, driver.find_element(By.CSS_SELECTOR, "a[href='/recommendations?body=CPS&overdue=true']"))
        self.assertIn("overdue", driver.current_url)
        self.check_page(driver, "recommendations-overdue")
        rows = driver.find_elements(By.CSS_SELECTOR, "table.govuk-table tbody tr")
        self.assertTrue(rows)
        self.assertTrue(all("overdue" in row.text.lower() for row in rows))
        # The MoJ filter: the filters set are tags, the fields keep only what was asked, and
        # removing a tag drops just that filter.
        tags = [t.get_attribute("textContent").replace("Remove this filter: ", "")
                for t in driver.find_elements(By.CSS_SELECTOR, ".moj-filter__tag")]
        self.assertEqual(tags, ["Crown Prosecution Service", "Overdue only"])
        self.assertEqual(Select(driver.find_element(By.ID, "status")).first_selected_option.get_attribute("value"), "")
        self.assertEqual(Select(driver.find_element(By.ID, "state")).first_selected_option.get_attribute("value"), "")
        self.assertEqual(Select(driver.find_element(By.ID, "body")).first_selected_option.get_attribute("value"), "CPS")
        self.submit(driver, driver.find_element(By.PARTIAL_LINK_TEXT, "Overdue only"))
        self.assertNotIn("overdue", driver.current_url)
        self.assertIn("body=CPS", driver.current_url)
        driver.back()
        self.submit(driver, driver.find_element(By.LINK_TEXT, "da23-r2"))
        self.check_page(driver, "recommendation")
        # The history is the MoJ timeline, newest first, styled by its stylesheet; the pages
        # are set in the system font stack (GDS Transport is for services on gov.uk only).
        titles = driver.find_elements(By.CSS_SELECTOR, ".moj-timeline__item .moj-timeline__title")
        self.assertTrue(titles[0].text.startswith("Assess: "), titles[0].text)
        self.assertEqual(driver.execute_script(
            "return getComputedStyle(document.querySelector('.moj-timeline__title')).fontWeight"), "700")
        self.assertNotIn("GDS Transport",
                         driver.execute_script("return getComputedStyle(document.querySelector('h1')).fontFamily"))
        # Its icon is rectrack's own (GOV.UK's crown is for services on gov.uk), and is served.
        self.assertEqual(page_icons(driver), [["/assets/images/rectrack-icon.svg", "image/svg+xml", 200]])
        # An update with nothing in it would record nothing: refused, said at the note.
        events_before = len(self.server.timeline("da23-r2"))
        details = self.open_form(driver, "update")
        self.submit(driver, details.find_element(By.CSS_SELECTOR, "button"))
        summary = driver.find_element(By.CSS_SELECTOR, ".govuk-error-summary")
        self.assertIn("Enter a note or select the milestone met", summary.text)
        self.assertEqual(summary.find_element(By.TAG_NAME, "a").get_attribute("hash"), "#update-note")
        self.assertEqual(len(self.server.timeline("da23-r2")), events_before)
        # Dated behind the inspectorate's assessment: refused at the effective date, in the
        # page's words (no event named, a role and dates as people write them).
        details = self.open_form(driver, "update")
        details.find_element(By.NAME, "note").send_keys("A note from June 2023")
        for part, value in (("day", "1"), ("month", "6"), ("year", "2023")):
            details.find_element(By.NAME, "effective-" + part).send_keys(value)
        self.submit(driver, details.find_element(By.CSS_SELECTOR, "button"))
        summary = driver.find_element(By.CSS_SELECTOR, ".govuk-error-summary")
        self.assertIn("It is dated before the inspectorate's latest judgement (assess, effective "
                      "6 March 2025), "
                      "and a body lead may not record behind it", summary.text)
        self.assertNotIn("'update' effective", summary.text)
        self.assertEqual(summary.find_element(By.TAG_NAME, "a").get_attribute("hash"),
                         "#update-effective-day")
        group = driver.find_element(By.ID, "update-effective-day").find_element(
            By.XPATH, "ancestor::fieldset")
        self.assertIn("date it 6 March 2025 or later", driver.find_element(
            By.ID, group.get_attribute("aria-describedby").split()[-1]).text)
        self.assertEqual(len(self.server.timeline("da23-r2")), events_before)
        self.check_page(driver, "recommendation-refused-date")
        details = self.open_form(driver, "update")
        details.find_element(By.NAME, "note").clear()
        for part in ("day", "month", "year"):
            details.find_element(By.NAME, "effective-" + part).clear()
        # Two lines: Chromium sends the text area's line break as CR LF, kept as one LF.
        details.find_element(By.NAME, "note").send_keys(
            "Training plan agreed\nwith the Area <script>alert(1)</script>")
        self.submit(driver, details.find_element(By.CSS_SELECTOR, "button"))
        self.assertIn("recorded=update", driver.current_url)
        self.assertIn("with the Area <script>alert(1)</script>", driver.page_source.replace(
            "&lt;", "<").replace("&gt;", ">"))
        self.assertNotIn("<script>alert(1)</script>", driver.page_source)
        last = self.server.timeline("da23-r2")[-1]
        self.assertEqual(last["note"], "Training plan agreed\nwith the Area <script>alert(1)</script>")
        # A form sent with a version that is not a number is not the page's own: refused, and
        # nothing recorded (it used to be recorded without the lost-update check).
        details = self.open_form(driver, "update")
        form = details.find_element(By.TAG_NAME, "form")
        driver.execute_script("arguments[0].action = '/recommendations/da23-r2?version=abc'", form)
        details.find_element(By.NAME, "note").send_keys("sent with a broken version")
        self.submit(driver, details.find_element(By.CSS_SELECTOR, "button"))
        self.assertIn("The form could not be read", driver.title)
        self.assertEqual(self.server.timeline("da23-r2")[-1]["note"], last["note"])
        # A form from a page opened before the item changed (going back to it, another tab) is
        # refused, in words, without the log's version numbers; nothing is recorded.
        self.go(driver, "/recommendations/da23-r2")
        details = self.open_form(driver, "update")
        form = details.find_element(By.TAG_NAME, "form")
        driver.execute_script("arguments[0].action = '/recommendations/da23-r2?version=1'", form)
        details.find_element(By.NAME, "note").send_keys("sent from an old page")
        self.submit(driver, details.find_element(By.CSS_SELECTOR, "button"))
        summary = driver.find_element(By.CSS_SELECTOR, ".govuk-error-summary").text
        self.assertIn("It changed since you opened this page", summary)
        self.assertNotIn("version", summary)
        self.assertEqual(self.server.timeline("da23-r2")[-1]["note"], last["note"])
        self.go(driver, "/recommendations/da23-r2")
        self.assertEqual(last["actor"], "account:lead@cps.example")
        # The history says who and when as people write it: the account, not the log's
        # "account:" name; dates as GOV.UK writes them, machine-readable in <time>.
        newest = driver.find_element(By.CSS_SELECTOR, ".moj-timeline__item")
        self.assertIn("by lead@cps.example (", newest.text)
        self.assertNotIn("account:", newest.text)
        effective = newest.find_element(By.CSS_SELECTOR, ".moj-timeline__date time")
        self.assertEqual(effective.get_attribute("datetime"), "2025-12-01")
        self.assertEqual(effective.text, "1 December 2025")
        recorded = newest.find_elements(By.CSS_SELECTOR, ".moj-timeline__date time")[1]
        self.assertEqual(recorded.get_attribute("datetime"), last["recorded"])
        self.assertRegex(recorded.text, r"^\d{1,2} [A-Z][a-z]+ \d{4} at (\d{1,2}(:\d\d)?[ap]m|midday|midnight)$")
        # An action: closed from its page.
        self.go(driver, "/actions/sw22-i2-a4")
        self.check_page(driver, "action")
        details = self.open_form(driver, "close")
        details.find_element(By.NAME, "evidence").send_keys("escalation-protocol.pdf")
        # The close takes evidence (its workflow says so): a file field, and a file chosen.
        policy = os.path.join(SOURCE, "tests", "data", "evidence", "policy.pdf")
        details.find_element(By.NAME, "evidence_files").send_keys(policy)
        self.submit(driver, details.find_element(By.CSS_SELECTOR, "button"))
        self.assertIn("done", driver.find_element(By.CSS_SELECTOR, ".govuk-summary-list").text)
        self.check_page(driver, "action-with-evidence")
        # The history links the file; it downloads as the bytes chosen, never shown as a page.
        link = driver.find_element(By.LINK_TEXT, "policy.pdf").get_attribute("href")
        with open(policy, "rb") as f:
            chosen = f.read()
        self.assertEqual(self.server.timeline("sw22-i2-a4")[-1]["attachments"][0]["sha256"],
                         hashlib.sha256(chosen).hexdigest())
        request = urllib.request.Request(link, headers={
            "Cookie": "rectrack_session=" + driver.get_cookie("rectrack_session")["value"]})
        with urllib.request.urlopen(request, timeout=10) as answer:
            self.assertEqual(answer.read(), chosen)
            self.assertTrue(answer.headers["Content-Disposition"].startswith("attachment;"))
            self.assertEqual(answer.headers["X-Content-Type-Options"], "nosniff")
        # Closing a recommendation whose actions are open is refused, with the error summary.
        self.go(driver, "/recommendations/sw22-i2")
        details = self.open_form(driver, "close")
        # The workflow's guard is said on the form before anyone is refused by it.
        self.assertIn("Every action must be closed first, unless Override says why",
                      details.find_element(By.CSS_SELECTOR, ".govuk-inset-text").text)
        self.submit(driver, details.find_element(By.CSS_SELECTOR, "button"))
        summary = driver.find_element(By.CSS_SELECTOR, ".govuk-error-summary")
        self.assertIn("open", summary.text)
        self.assertIn("sw22-i2-a5 (in progress)", summary.text)  # states as people write them
        self.assertTrue(driver.title.startswith("Error:"))
        # The summary leads to the field that answers it, Override, which says the error too.
        target = summary.find_element(By.TAG_NAME, "a").get_attribute("href").split("#")[1]
        override = driver.find_element(By.ID, target)
        self.assertEqual(override.get_attribute("name"), "override")
        self.assertIn("still open", driver.find_element(
            By.ID, override.get_attribute("aria-describedby").split()[-1]).text)
        self.check_page(driver, "recommendation-error")
        self.assertEqual(self.server.timeline("sw22-i2")[-1]["do"], "issue")
        details = self.open_form(driver, "close")
        details.find_element(By.NAME, "override").send_keys("the rest moves to the national plan")
        self.submit(driver, details.find_element(By.CSS_SELECTOR, "button"))
        self.assertIn("recorded=close", driver.current_url)
        self.assertEqual(self.server.timeline("sw22-i2")[-1]["do"], "close")
        for path, name in (("/actions", "actions"), ("/inspections", "inspections"),
                           ("/inspections/asi22-sw", "inspection"),
                           ("/reports/annex?body=CPS&as_at=2025-03-31", "annex"),
                           ("/alerts", "alerts"), ("/account", "account")):
            self.go(driver, path)
            self.check_page(driver, name)
        self.go(driver, "/alerts?state=unsubscribed")
        self.assertIn("unsubscribed", driver.find_element(By.CSS_SELECTOR, "tbody").text)
        self.go(driver, "/alerts?state=bogus")
        self.assertIn("Page not found", driver.page_source)
        # CSV of exactly the filtered list.
        cookie = driver.get_cookie("rectrack_session")["value"]
        request = urllib.request.Request(self.server.url + "/recommendations?body=CPS&overdue=true&format=csv",
                                         headers={"Cookie": "rectrack_session=" + cookie})
        csv = urllib.request.urlopen(request, timeout=10).read().decode()
        self.assertEqual(len(csv.strip().split("\r\n")) - 1, len(rows))
        # The actions and alerts lists download as CSV too, the page's rows exactly, read back
        # by Python's csv module.
        for path in ("/actions?status=open", "/alerts"):
            self.go(driver, path)
            shown = [row.text for row in driver.find_elements(By.CSS_SELECTOR, "table.govuk-table tbody tr")]
            self.assertGreater(len(shown), 0, path)
            link = driver.find_element(By.PARTIAL_LINK_TEXT, "as CSV").get_attribute("href")
            request = urllib.request.Request(link, headers={"Cookie": "rectrack_session=" + cookie})
            with urllib.request.urlopen(request, timeout=10) as answer:
                self.assertTrue(answer.headers["Content-Disposition"].startswith("attachment;"))
                table = list(csv_module.DictReader(io.StringIO(answer.read().decode(), newline="")))
            self.assertEqual(len(table), len(shown), path)
            for record in table:
                field = "id" if path.startswith("/actions") else "recommendation"
                self.assertTrue(any(record[field] in row for row in shown), (path, record[field]))

    def test_2_inspectorate_assesses_and_open_page_hears(self):
        watcher = self.new_browser()
        self.sign_in(watcher, "reader@ago.example")
        self.go(watcher, "/recommendations?body=CPS")
        self.assertEqual(watcher.find_elements(By.CSS_SELECTOR, "form[method='post'] input[name='do']"), [])
        driver = self.new_browser()
        self.sign_in(driver, "staff@hmcpsi.example")
        self.go(driver, "/recommendations/sw22-i3")
        details = self.open_form(driver, "assess")
        details.find_element(By.ID, "assess-outcome-not_achieved").click()
        details.find_element(By.ID, "assess-in-asi22-sw").click()
        details.find_element(By.NAME, "superseded_by").send_keys("da25-n1")
        # Not a warning button (an assessment ends a life only when it supersedes), but this
        # one would: it is asked about, with the outcome as people write it.
        button = details.find_element(By.CSS_SELECTOR, "button")
        self.assertNotIn("govuk-button--warning", button.get_attribute("class"))
        self.submit(driver, button)
        self.assertEqual(driver.find_element(By.TAG_NAME, "h1").text,
                         "Are you sure you want to assess recommendation sw22-i3?")
        self.assertIn("once superseded", driver.find_element(By.CSS_SELECTOR, ".govuk-warning-text").text)
        self.assertIn("not achieved", driver.find_element(By.CSS_SELECTOR, ".govuk-summary-list").text)
        self.submit(driver, driver.find_element(By.CSS_SELECTOR, "main form button"))
        self.assertIn("recorded=assess", driver.current_url)
        self.assertIn("superseded", driver.find_element(By.CSS_SELECTOR, ".govuk-summary-list").text)
        self.go(driver, "/recommendations?state=superseded")
        self.assertIn("sw22-i3", driver.page_source)
        # The reader's open list page was told.
        WebDriverWait(watcher, 15).until(
            lambda d: d.find_element(By.CSS_SELECTOR, "[data-live-generation]").is_displayed())
        # And told in words a screen reader hears: a status line, there from the start.
        status = watcher.find_element(By.CSS_SELECTOR, "#live-status[role='status']")
        self.assertIn("Something was recorded", status.get_attribute("textContent"))
        for path, name in (("/admin/accounts", "admin-accounts"), ("/admin/audit", "audit")):
            self.go(driver, path)
            self.check_page(driver, name)
        self.assertIn("sign in", driver.page_source)
        self.assertNotIn("sign_in", driver.find_element(By.TAG_NAME, "main").text)

    def test_2b_a_withdrawal_is_asked_about_first(self):
        """A transition that ends a recommendation's life (nothing leaves 'withdrawn') has a
        warning button, says so on its form, and asks "Are you sure?" before it is recorded;
        Cancel records nothing."""
        driver = self.new_browser()
        self.sign_in(driver, "staff@hmcpsi.example")
        self.go(driver, "/recommendations/sfo24-r2")
        events_before = len(self.server.timeline("sfo24-r2"))
        details = self.open_form(driver, "withdraw")
        button = details.find_element(By.CSS_SELECTOR, "button")
        self.assertIn("govuk-button--warning", button.get_attribute("class"))
        self.assertIn("You cannot undo this: once withdrawn",
                      details.find_element(By.CSS_SELECTOR, ".govuk-inset-text").text)
        # Not asked while the form itself is wrong.
        self.submit(driver, button)
        self.assertIn("Enter the reason", driver.find_element(By.CSS_SELECTOR, ".govuk-error-summary").text)
        details = self.open_form(driver, "withdraw")
        details.find_element(By.NAME, "reason").send_keys("Replaced by the case management review")
        details.find_element(By.NAME, "note").send_keys("Agreed with the SFO <i>on 28 November</i>")
        self.submit(driver, details.find_element(By.CSS_SELECTOR, "button"))
        self.assertEqual(driver.title,
                         "Are you sure you want to withdraw recommendation sfo24-r2? – rectrack")
        self.check_page(driver, "confirm-withdraw")
        main = driver.find_element(By.TAG_NAME, "main").text
        self.assertIn("Replaced by the case management review", main)
        self.assertIn("Agreed with the SFO <i>on 28 November</i>", main)  # text, not markup
        self.assertEqual(len(self.server.timeline("sfo24-r2")), events_before)
        self.submit(driver, driver.find_element(By.LINK_TEXT, "Cancel"))
        self.assertIn("issued", driver.find_element(By.CSS_SELECTOR, ".govuk-summary-list").text)
        self.assertEqual(len(self.server.timeline("sfo24-r2")), events_before)
        # Asked again, and answered: recorded once, as the form said.
        details = self.open_form(driver, "withdraw")
        details.find_element(By.NAME, "reason").send_keys("Replaced by the case management review")
        self.submit(driver, details.find_element(By.CSS_SELECTOR, "button"))
        confirm = driver.find_element(By.CSS_SELECTOR, "main form button")
        self.assertEqual(confirm.text, "Withdraw recommendation")
        self.assertIn("govuk-button--warning", confirm.get_attribute("class"))
        self.submit(driver, confirm)
        self.assertIn("recorded=withdraw", driver.current_url)
        self.assertIn("withdrawn", driver.find_element(By.CSS_SELECTOR, ".govuk-summary-list").text)
        timeline = self.server.timeline("sfo24-r2")
        self.assertEqual(len(timeline), events_before + 1)
        self.assertEqual(timeline[-1]["do"], "withdraw")
        self.assertEqual(timeline[-1]["fields"], {"reason": ["Replaced by the case management review"]})
        newest = driver.find_element(By.CSS_SELECTOR, ".moj-timeline__item")
        self.assertIn("Withdraw: issued → withdrawn", newest.text)
        self.assertIn("Reason: Replaced by the case management review", newest.text)
        # Nothing more can be recorded: no form is left on it.
        self.assertEqual(driver.find_elements(By.CSS_SELECTOR, "input[name='do']"), [])

    def test_3_unit_lead_and_reader_limits(self):
        driver = self.new_browser()
        self.sign_in(driver, "sw@cps.example")
        self.go(driver, "/actions/sw22-i1-a2")  # the Crown Court unit's, not South West's
        self.assertIn("Page not found", driver.page_source)
        self.go(driver, "/actions")
        self.assertNotIn("sw22-i1-a2", driver.page_source)
        self.assertIn("sw22-i1-a4", driver.page_source)
        # On the recommendation: no form (a unit's lead acts on its unit's actions only), and the
        # actions are said to be its unit's.
        self.go(driver, "/recommendations/sw22-i1")
        self.assertEqual(driver.find_elements(By.CSS_SELECTOR, "main input[name='do']"), [])
        self.assertIn("Your unit's actions", driver.page_source)
        self.assertIn("other units' actions are not shown", driver.page_source)
        self.go(driver, "/actions/sw22-i1-a4")
        self.assertNotEqual(driver.find_elements(By.CSS_SELECTOR, "main input[name='do']"), [])
        # Nor the alerts of another unit's actions, or of the body's own (the demo's are due).
        self.go(driver, "/alerts")
        alerted = {a.get_attribute("href").split("/actions/")[1]
                   for a in driver.find_elements(By.CSS_SELECTOR, "main a[href*='/actions/']")}
        self.assertIn("sw22-i1-a4", alerted)
        self.assertEqual([a for a in alerted if a not in ("sw22-i1-a1", "sw22-i1-a4", "sw22-i2-a1",
                                                          "sw22-i2-a4", "sw22-i2-a5", "sw22-i3-a4")], [])
        # A form posted by hand to another unit's action is refused and writes nothing.
        self.go(driver, "/actions/sw22-i1-a4")
        csrf = driver.find_element(By.NAME, "csrf").get_attribute("value")
        cookie = driver.get_cookie("rectrack_session")["value"]
        before = len(self.server.timeline("sw22-i1-a2"))
        status = self.post("/actions/sw22-i1-a2", {"csrf": csrf, "do": "update", "note": "x"}, cookie)
        self.assertEqual(status, 404)
        # Without the CSRF token, or with a wrong one, nothing is written either.
        before_own = len(self.server.timeline("sw22-i1-a4"))
        self.assertEqual(self.post("/actions/sw22-i1-a4", {"do": "update", "note": "x"}, cookie), 403)
        self.assertEqual(self.post("/actions/sw22-i1-a4", {"csrf": "forged", "do": "update"}, cookie), 403)
        self.assertEqual(len(self.server.timeline("sw22-i1-a2")), before)
        self.assertEqual(len(self.server.timeline("sw22-i1-a4")), before_own)
        # After sign-out the session id is worthless.
        self.submit(driver, driver.find_element(By.CSS_SELECTOR, "form[action='/sign-out'] button"))
        self.assertIn("Sign in", driver.title)
        self.assertEqual(self.post("/actions/sw22-i1-a4", {"csrf": csrf, "do": "update"}, cookie), 303)
        self.assertEqual(len(self.server.timeline("sw22-i1-a4")), before_own)
        self.check_page(driver, "sign-in")

    def dashboard_counts(self, driver):
        """Each count the dashboard links to a list with, by the link's target."""
        self.go(driver, "/")
        return {a.get_attribute("href").replace(self.server.url, ""):
                int(a.text.split()[0]) for a in driver.find_elements(By.CSS_SELECTOR, "main td a")}

    def listed(self, driver, path):
        self.go(driver, path)
        return int(driver.find_element(By.CSS_SELECTOR, "#count strong").text)

    def test_3a_dashboard_counts_what_its_lists_show(self):
        """The dashboard's counts (kept as items change, not walked) are the lists' own, for
        every body and unit, and follow a write made meanwhile by the command line."""
        driver = self.new_browser(javascript=False)
        self.sign_in(driver, "staff@hmcpsi.example")

        def check(counts):
            for path, count in counts.items():
                self.assertEqual(count, self.listed(driver, path), path)

        before = self.dashboard_counts(driver)
        self.assertIn("/recommendations?body=SFO&overdue=true", before)
        # Due in the next 30 days: from today on, not those overdue too.
        self.assertTrue(any("&due_from=" in path and "&due_before=" in path for path in before))
        self.assertTrue(any(path.startswith("/actions?body=CPS&unit=") for path in before))
        self.assertGreater(sum(before.values()), 0)
        check(before)
        # A CPS recommendation closed by the command line: one more awaiting assessment.
        awaiting = [p for p in before if p.startswith("/recommendations?body=CPS&state=")][0]
        self.go(driver, "/recommendations?body=CPS&status=open&state=issued")
        open_one = driver.find_element(By.CSS_SELECTOR, "table.govuk-table tbody tr a").text
        rectrack(self.server.db, "record", open_one, "close", "--by", "CPS",
                 "--note", "done, see the evidence", "--field", "override=the actions left open go on")
        deadline = time.monotonic() + 10
        while True:
            after = self.dashboard_counts(driver)
            if after[awaiting] == before[awaiting] + 1 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        self.assertEqual(after[awaiting], before[awaiting] + 1)
        check(after)

    def test_3c_each_row_shows_its_own_tags(self):
        """A milestone or an action row of an overdue recommendation shows its own state, not
        the recommendation's: a row's template looks up in the page's data whatever the row
        does not set."""
        imported = os.path.join(self.server.dir, "late.yaml")
        with open(imported, "w", encoding="utf-8") as f:
            f.write("inspections:\n"
                    "  - {id: late25, title: Late milestones, published: 2025-02-11}\n"
                    "recommendations:\n"
                    "  - id: late25-r1\n"
                    "    inspection: late25\n"
                    "    owners: [CPS]\n"
                    "    text: \"By 31 July 2025 to have designed a new approach. By 31 March 2026"
                    " to have implemented it across all Areas.\"\n"
                    "actions:\n"
                    "  - {id: late25-r1-a1, rec: late25-r1, unit: cps-sw, planned: 2025-03-01,"
                    " by: CPS, due: 2026-02-28, title: Roll the approach out in the South West}\n")
        rectrack(self.server.db, "import", imported)
        shown = json.loads(rectrack(self.server.db, "--clock", CLOCK, "show", "late25-r1",
                                    "--format", "json"))
        self.assertTrue(shown["overdue"])
        self.assertEqual([m["overdue"] for m in shown["milestones"]], [True, False])
        self.assertEqual([a["overdue"] for a in shown["actions"]], [False])
        driver = self.new_browser(javascript=False)
        self.sign_in(driver, "staff@hmcpsi.example")
        deadline = time.monotonic() + 10
        while True:  # the server takes in the command line's import within a second or so
            self.go(driver, "/recommendations/late25-r1")
            if "Page not found" not in driver.title or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        tags = [[t.get_attribute("textContent") for t in row.find_elements(By.CSS_SELECTOR,
                                                                             "td .govuk-tag")]
                for row in driver.find_elements(By.XPATH, "//table[.//th[contains(., 'Original')]]"
                                                          "//tbody/tr")]
        self.assertEqual(tags, [["overdue"], ["not yet due"]])
        row = driver.find_element(By.XPATH, "//tr[.//a[@href='/actions/late25-r1-a1']]")
        self.assertEqual(row.find_elements(By.CSS_SELECTOR, ".moj-badge--red"), [])

    def test_3d_an_as_at_date_that_cannot_be_read_is_an_error_at_its_field(self):
        """GOV.UK's error pattern on every page with an 'as at' field: a summary linking to the
        field, the message at it, the input marked, "Error:" in the title."""
        driver = self.new_browser()
        self.sign_in(driver, "lead@cps.example")
        for path, name in (("/recommendations/da23-r2?as_at=banana", "item-as-at-error"),
                           ("/reports/annex?body=CPS&as_at=banana", "annex-as-at-error"),
                           ("/reports/progress?body=CPS&as_at=banana", "progress-as-at-error")):
            self.go(driver, path)
            self.assertTrue(driver.title.startswith("Error: "), path)
            summary = driver.find_element(By.CSS_SELECTOR, ".govuk-error-summary a")
            self.assertEqual(summary.get_attribute("href").split("#")[1], "as_at")
            self.assertIn("As at must be a real date, for example 31/3/2025",
                          driver.find_element(By.ID, "as_at-error").text)
            field = driver.find_element(By.ID, "as_at")
            self.assertIn("govuk-input--error", field.get_attribute("class"))
            self.assertIn("as_at-error", field.get_attribute("aria-describedby"))
            # GOV.UK Frontend's script moved the focus to the summary, as its pages do.
            self.assertIn("govuk-error-summary",
                          driver.switch_to.active_element.get_attribute("class"))
            self.check_page(driver, name)
        # A date typed as people in the UK type one is read; the field shows it so again, and
        # links carry it as ISO.
        self.go(driver, "/recommendations/da23-r2?as_at=" + urllib.parse.quote("31/12/2023"))
        self.assertFalse(driver.title.startswith("Error: "))
        self.assertIn("State as at 31 December 2023", driver.find_element(By.TAG_NAME, "main").text)
        self.assertEqual(driver.find_element(By.ID, "as_at").get_attribute("value"), "31/12/2023")
        self.go(driver, "/recommendations?as_at=" + urllib.parse.quote("31 March 2025"))
        self.assertIn("as at 31 March 2025", driver.find_element(By.ID, "count").text)
        self.assertEqual(driver.find_element(By.ID, "as_at").get_attribute("value"), "31/3/2025")
        link = driver.find_element(By.CSS_SELECTOR, "td a[href^='/recommendations/']")
        self.assertTrue(link.get_attribute("href").endswith("?as_at=2025-03-31"))
        # Two filters that cannot be read: both said, each at its field; the list is today's
        # and says so, not the text typed.
        self.go(driver, "/recommendations?due_from=soon&as_at=" + urllib.parse.quote("31/2/2025"))
        links = driver.find_elements(By.CSS_SELECTOR, ".govuk-error-summary a")
        self.assertEqual([a.get_attribute("hash") for a in links], ["#due_from", "#as_at"])
        self.assertIn("Due on or after must be a real date",
                      driver.find_element(By.ID, "due_from-error").text)
        self.assertIn("As at must be a real date", driver.find_element(By.ID, "as_at-error").text)
        self.assertNotIn("31/2/2025", driver.find_element(By.ID, "count").text)
        self.check_page(driver, "recommendations-filter-errors")
        # A range that ends before it starts, or where it starts (nothing is due on or after a
        # day and before it): said at its end, not answered with an empty list.
        for before in ("1/3/2025", "1/4/2025"):
            self.go(driver, "/recommendations?due_from=" + urllib.parse.quote("1/4/2025") +
                    "&due_before=" + urllib.parse.quote(before))
            links = driver.find_elements(By.CSS_SELECTOR, ".govuk-error-summary a")
            self.assertEqual([a.get_attribute("hash") for a in links], ["#due_before"])
            self.assertIn("Due before must be after 1 April 2025",
                          driver.find_element(By.ID, "due_before-error").text)
            self.assertEqual(driver.find_element(By.ID, "due_before").get_attribute("value"), before)
        self.go(driver, "/recommendations?due_from=" + urllib.parse.quote("1/4/2025") +
                "&due_before=" + urllib.parse.quote("2/4/2025"))
        self.assertEqual(driver.find_elements(By.CSS_SELECTOR, ".govuk-error-summary"), [])
        # A two-digit year is not guessed at: GOV.UK's date input's words, at the field.
        self.go(driver, "/recommendations?due_before=" + urllib.parse.quote("1/4/25"))
        self.assertEqual(driver.find_element(By.ID, "due_before-error").text,
                         "Error:\nYear must include 4 numbers")

    def test_3e_a_date_can_be_chosen_from_a_calendar(self):
        """The one-field dates have the MoJ date picker: it opens at the date typed, a day
        chosen is written as the hints write dates (15/3/2025), and the server reads it. Its
        open calendar passes axe; without JavaScript the field is a text input (test_5)."""
        driver = self.new_browser()
        self.sign_in(driver, "staff@hmcpsi.example")
        self.go(driver, "/recommendations?as_at=2025-03-31")
        field = driver.find_element(By.ID, "as_at")
        toggle = field.find_element(By.XPATH, "./following-sibling::button")
        self.assertIn("Choose date", toggle.text)
        # Each calendar button is described by its field's label.
        described = driver.execute_script("""
            return [...document.querySelectorAll('.moj-js-datepicker-toggle')].map(b =>
                document.getElementById(b.getAttribute('aria-describedby')).textContent.trim());""")
        self.assertEqual(described, ["Due on or after", "Due before", "As at"])
        toggle.click()
        dialog = driver.find_element(By.ID, "datepicker-as_at")
        WebDriverWait(driver, 10).until(lambda _: dialog.is_displayed())
        self.assertEqual(dialog.find_element(By.CSS_SELECTOR, ".moj-js-datepicker-month-year").text,
                         "March 2025")
        self.check_page(driver, "recommendations-date-picker")
        dialog.find_element(By.CSS_SELECTOR, "button[data-testid='15/3/2025']").click()
        self.assertEqual(field.get_attribute("value"), "15/3/2025")
        self.assertFalse(dialog.is_displayed())
        self.submit(driver, field.find_element(By.XPATH, "ancestor::form//button[@type='submit']"))
        self.assertIn("as at 15 March 2025", driver.find_element(By.ID, "count").text)
        link = driver.find_element(By.CSS_SELECTOR, "td a[href^='/recommendations/']")
        self.assertTrue(link.get_attribute("href").endswith("?as_at=2025-03-15"))

    def test_3b_long_lists_come_in_pages(self):
        """The recommendations and the actions come a page at a time (here 10 rows), with GOV.UK
        pagination links that work without JavaScript: every row once, none twice."""
        driver = self.new_browser(javascript=False)
        self.sign_in(driver, "reader@ago.example")
        checker = self.new_browser()  # axe-core needs JavaScript
        self.sign_in(checker, "reader@ago.example")
        for path, noun in (("/actions?per_page=10", "actions"),
                           ("/recommendations?per_page=10", "recommendations")):
            self.go(driver, path)
            count = int(driver.find_element(By.CSS_SELECTOR, "#count strong").text)
            self.assertGreater(count, 10, path)
            nav = driver.find_element(By.CSS_SELECTOR, "nav.govuk-pagination")
            self.assertEqual(nav.get_attribute("aria-label"), "Pages of " + noun)
            self.assertEqual(nav.find_element(By.CSS_SELECTOR, "[aria-current='page']").text, "1")
            seen, pages = [], 0
            while True:
                pages += 1
                rows = driver.find_elements(By.CSS_SELECTOR, "table.govuk-table tbody tr")
                self.assertLessEqual(len(rows), 10, path)
                seen += [row.find_element(By.CSS_SELECTOR, "a").text for row in rows]
                following = driver.find_elements(By.CSS_SELECTOR, "a[rel='next']")
                if not following:
                    break
                self.submit(driver, following[0])
                self.assertIn("page=%d" % (pages + 1), driver.current_url)
                self.assertIn("per_page=10", driver.current_url, "the page size is kept")
            self.assertEqual(pages, (count + 9) // 10, path)
            self.assertEqual(len(seen), count, path)
            self.assertEqual(len(set(seen)), count, (path, "a row shown twice"))
            self.go(driver, path + "&page=%d" % (pages + 1))
            self.assertIn("Page not found", driver.page_source)
            # A page number or size that is not one is said to be so (400), in the layout.
            for bad, says in (("&page=abc", "page number"), ("&page=0", "page number"),
                              ("&per_page=5", "rows a page shows")):
                self.go(driver, path.split("?")[0] + "?" + bad[1:])
                self.assertEqual(driver.find_element(By.TAG_NAME, "h1").text,
                                 "The address is not right", bad)
                self.assertIn(says, driver.find_element(By.TAG_NAME, "main").text, bad)
            self.go(checker, path + "&page=2")
            self.check_page(checker, noun + "-page-2")
        # An address that is no page is the page "Page not found", in the layout (not the
        # API's JSON).
        for path in ("/elsewhere", "//recommendations", "/reports/annex/more"):
            self.go(driver, path)
            self.assertEqual(driver.find_element(By.TAG_NAME, "h1").text, "Page not found", path)
            self.assertTrue(driver.find_elements(By.CSS_SELECTOR, "header.govuk-header"), path)
        # An address that cannot be read says so, as a page.
        self.go(driver, "/recommendations?body=CPS&body=SFO")
        self.assertEqual(driver.find_element(By.TAG_NAME, "h1").text, "The address is not right")
        self.assertIn("'body'", driver.find_element(By.TAG_NAME, "main").text)
        # A filter no form offers is said, not ignored while the list shows everything: a state
        # or status there is not (400), a body, inspection or unit there is not (404), on the
        # lists and the reports alike; and so is a report's format there is not.
        for path, heading, says in (
                ("/recommendations?state=nope", "The address is not right", "no state 'nope'"),
                ("/recommendations?status=foo", "The address is not right", "'open' or 'closed'"),
                ("/actions?status=foo", "The address is not right", "'open' or 'closed'"),
                ("/reports/annex?format=exe", "The address is not right", "no format 'exe'"),
                ("/recommendations?format=exe", "The address is not right", "no format 'exe'"),
                ("/actions?overdue=yes", "The address is not right", "'true'"),
                ("/recommendations?body=NOPE", "Page not found", ""),
                ("/recommendations?inspection=nope", "Page not found", ""),
                ("/actions?unit=nope", "Page not found", ""),
                ("/reports/annex?body=NOPE", "Page not found", ""),
                ("/reports/progress?body=NOPE", "Page not found", "")):
            self.go(driver, path)
            self.assertEqual(driver.find_element(By.TAG_NAME, "h1").text, heading, path)
            self.assertIn(says, driver.find_element(By.TAG_NAME, "main").text, path)
        # What a page does not filter on is left alone: the actions have no recommendation state.
        self.go(driver, "/actions?state=done")
        self.assertNotEqual(driver.find_element(By.TAG_NAME, "h1").text, "The address is not right")
        # Applying a filter keeps the page size.
        self.go(driver, "/actions?per_page=10")
        Select(driver.find_element(By.ID, "status")).select_by_value("open")
        self.submit(driver, driver.find_element(By.CSS_SELECTOR, "form.moj-filter button"))
        self.assertIn("per_page=10", driver.current_url)
        self.assertIn("status=open", driver.current_url)
        # The unit lead's pages hold only the unit's actions.
        lead = self.new_browser(javascript=False)
        self.sign_in(lead, "sw@cps.example")
        self.go(lead, "/actions?per_page=10")
        self.assertNotIn("sw22-i1-a2", lead.page_source)
        # Nor any of the body's own (of no unit), asked for by name.
        self.assertEqual(self.listed(lead, "/actions?unit=(none)"), 0)
        self.assertGreater(self.listed(driver, "/actions?unit=(none)"), 0)

    def test_4_sign_in_throttled(self):
        statuses = [self.post("/sign-in", {"email": "reader@ago.example", "password": "wrong password"})
                    for _ in range(6)]
        self.assertEqual(statuses[:5], [401] * 5)
        self.assertEqual(statuses[5], 429)
        # Even the right password waits out the window.
        self.assertEqual(self.post("/sign-in", {"email": "reader@ago.example", "password": PASSWORD}), 429)

    def test_5_without_javascript(self):
        driver = self.new_browser(javascript=False)
        self.sign_in(driver, "lead@cps.example")
        self.go(driver, "/recommendations/da25-n2")
        details = self.open_form(driver, "update")
        details.find_element(By.NAME, "note").send_keys("recorded without JavaScript")
        # The GOV.UK date input: a day February never has is refused, linked to the day field,
        # and what was typed is kept.
        details.find_element(By.ID, "update-effective-day").send_keys("30")
        details.find_element(By.ID, "update-effective-month").send_keys("2")
        details.find_element(By.ID, "update-effective-year").send_keys("2026")
        self.submit(driver, details.find_element(By.CSS_SELECTOR, "button"))
        link = driver.find_element(By.CSS_SELECTOR, ".govuk-error-summary a")
        self.assertEqual(link.get_attribute("href").split("#")[1], "update-effective-day")
        self.assertIn("must be a real date", link.text)
        details = self.open_form(driver, "update")
        self.assertEqual(details.find_element(By.NAME, "note").get_attribute("value"),
                         "recorded without JavaScript")
        for part, value in (("day", "1"), ("month", "12"), ("year", "2025")):
            details.find_element(By.ID, "update-effective-" + part).clear()
            details.find_element(By.ID, "update-effective-" + part).send_keys(value)
        self.submit(driver, details.find_element(By.CSS_SELECTOR, "button"))
        self.assertIn("recorded=update", driver.current_url)
        self.assertEqual(self.server.timeline("da25-n2")[-1]["note"], "recorded without JavaScript")
        self.assertEqual(self.server.timeline("da25-n2")[-1]["effective"], "2025-12-01")
        # The item's "as at" is a text input that the server reads, with no calendar button.
        self.go(driver, "/recommendations/da25-n2")
        self.assertEqual(driver.find_elements(By.CSS_SELECTOR, ".moj-js-datepicker-toggle"), [])
        driver.find_element(By.ID, "as_at").send_keys("1/4/2025")
        self.submit(driver, driver.find_element(By.XPATH, "//input[@id='as_at']/../button"))
        self.assertIn("State as at 1 April 2025", driver.find_element(By.TAG_NAME, "main").text)
        self.go(driver, "/recommendations?body=CPS&status=open&sort=due")
        self.assertIn("recommendations", driver.find_element(By.ID, "count").text)
        # A column's header sorts by it; followed again, the other way round (aria-sort says so).
        self.go(driver, "/recommendations?body=CPS")

        def header(label):
            return driver.find_element(By.XPATH, "//th[a[normalize-space(text())='%s']]" % label)

        def follow(label):
            self.go(driver, header(label).find_element(By.TAG_NAME, "a").get_attribute("href")
                    .replace(self.server.url, ""))

        def ids():
            return [a.text for a in driver.find_elements(
                By.CSS_SELECTOR, "main tbody tr td:first-child a")]

        self.assertEqual(header("Issued").get_attribute("aria-sort"), "ascending")
        follow("Reference")
        self.assertEqual(header("Reference").get_attribute("aria-sort"), "ascending")
        self.assertEqual(header("Issued").get_attribute("aria-sort"), "none")
        self.assertGreater(len(ids()), 5)
        self.assertEqual(ids(), sorted(ids()))
        follow("Reference")
        self.assertIn("sort=-id", driver.current_url)
        self.assertEqual(header("Reference").get_attribute("aria-sort"), "descending")
        self.assertEqual(ids(), sorted(ids(), reverse=True))
        self.go(driver, "/recommendations?body=CPS")
        first_issued = ids()
        follow("Issued")
        self.assertEqual(header("Issued").get_attribute("aria-sort"), "descending")
        self.assertNotEqual(ids()[0], first_issued[0])

    def test_6_inspectorate_administers(self):
        driver = self.new_browser()
        self.sign_in(driver, "staff@hmcpsi.example")
        # Administration is in the navigation, and marked current on its pages; Reports leads to
        # the reports.
        self.submit(driver, driver.find_element(By.LINK_TEXT, "Administration"))
        self.assertTrue(driver.current_url.endswith("/admin"))
        self.assertEqual(driver.find_element(By.CSS_SELECTOR, "[aria-current='page']").text,
                         "Administration")
        self.go(driver, "/reports")
        self.assertTrue(driver.current_url.endswith("/reports/annex"), driver.current_url)
        self.go(driver, "/admin")
        self.check_page(driver, "admin")
        # A definition with inputs missing or wrong: every error at once, each at its input, and
        # what was typed and chosen is kept.
        form = driver.find_element(By.CSS_SELECTOR, "form input[name='what'][value='inspection']")
        form = form.find_element(By.XPATH, "..")
        form.find_element(By.ID, "inspection-title").send_keys("A thematic inspection")
        form.find_element(By.ID, "inspection-published").send_keys("31/2/2025")
        form.find_element(By.XPATH, ".//option[@value='invitation']").click()
        self.submit(driver, form.find_element(By.CSS_SELECTOR, "button"))
        links = driver.find_elements(By.CSS_SELECTOR, ".govuk-error-summary a")
        self.assertEqual([a.get_attribute("hash") for a in links],
                         ["#inspection-id", "#inspection-published"])
        self.assertIn("Enter an id for the inspection",
                      driver.find_element(By.ID, "inspection-id-error").text)
        self.assertIn("Published must be a real date, for example 6/3/2025",
                      driver.find_element(By.ID, "inspection-published-error").text)
        self.assertEqual(driver.find_element(By.ID, "inspection-title").get_attribute("value"),
                         "A thematic inspection")
        self.assertEqual(driver.find_element(By.ID, "inspection-published").get_attribute("value"),
                         "31/2/2025")
        self.assertTrue(driver.find_element(By.XPATH, "//select[@id='inspection-kind']"
                                            "/option[@value='invitation']").is_selected())
        self.check_page(driver, "admin-define-error")
        # An owner that is no body: the engine's refusal, at Owners.
        form = driver.find_element(By.CSS_SELECTOR, "form input[name='what'][value='recommendation']")
        form = form.find_element(By.XPATH, "..")
        form.find_element(By.ID, "recommendation-id").send_keys("t9-r1")
        form.find_element(By.ID, "recommendation-owners").send_keys("XYZ")
        form.find_element(By.ID, "recommendation-text").send_keys("Do something.")
        self.submit(driver, form.find_element(By.CSS_SELECTOR, "button"))
        self.assertEqual([a.get_attribute("hash") for a in driver.find_elements(
            By.CSS_SELECTOR, ".govuk-error-summary a")], ["#recommendation-owners"])
        self.assertIn("no body 'XYZ'", driver.find_element(By.ID, "recommendation-owners-error").text)
        self.go(driver, "/admin")
        # A bad import names its line and writes nothing.
        before = rectrack(self.server.db, "list", "--format", "json")
        driver.find_element(By.ID, "import-text").send_keys(
            "inspections:\n  - {id: t1, title: Test, published: 2025-13-01}\n")
        self.submit(driver, driver.find_element(By.CSS_SELECTOR, "form[action='/admin/import'] button"))
        summary = driver.find_element(By.CSS_SELECTOR, ".govuk-error-summary").text
        self.assertIn("Line 2 of the pasted text: 'published' must be a real date", summary)
        # Said at the pasted text, which is kept; the summary's link goes there.
        self.assertEqual([a.get_attribute("hash") for a in driver.find_elements(
            By.CSS_SELECTOR, ".govuk-error-summary a")], ["#import-text"])
        self.assertIn("Line 2 of the pasted text:", driver.find_element(By.ID, "import-text-error").text)
        self.assertIn("2025-13-01", driver.find_element(By.ID, "import-text").get_attribute("value"))
        self.check_page(driver, "admin-error")
        self.assertEqual(rectrack(self.server.db, "list", "--format", "json"), before)
        # A bad one uploaded as a file: said at the file input.
        upload = os.path.join(self.server.dir, "t1.yaml")
        with open(upload, "w", encoding="utf-8") as f:
            f.write("inspections:\n  - {id: t1, title: Test inspection, published: soon}\n")
        driver.find_element(By.ID, "import-text").clear()
        driver.find_element(By.ID, "import-file").send_keys(upload)
        self.submit(driver, driver.find_element(By.CSS_SELECTOR, "form[action='/admin/import'] button"))
        self.assertEqual([a.get_attribute("hash") for a in driver.find_elements(
            By.CSS_SELECTOR, ".govuk-error-summary a")], ["#import-file"])
        self.assertIn("Line 2 of the uploaded file: 'published' must be a real date",
                      driver.find_element(By.ID, "import-file-error").text)
        self.assertEqual(rectrack(self.server.db, "list", "--format", "json"), before)
        # A good one, uploaded as a file.
        with open(upload, "w", encoding="utf-8") as f:
            f.write("inspections:\n  - {id: t1, title: Test inspection, published: 2025-06-01}\n")
        driver.find_element(By.ID, "import-text").clear()
        driver.find_element(By.ID, "import-file").send_keys(upload)
        self.submit(driver, driver.find_element(By.CSS_SELECTOR, "form[action='/admin/import'] button"))
        self.assertIn("Imported: 1 events written", driver.page_source)
        # A success banner says what was done, from codes: a link cannot make it say words of
        # the linker's choosing.
        phish = urllib.parse.quote("Your account is compromised. Call 0800 000000")
        for path in ("/admin?done=" + phish, "/account?done=" + phish,
                     "/recommendations/da23-r2?recorded=" + phish,
                     "/admin?defined=body&id=" + phish, "/admin?revoked=" + phish):
            self.go(driver, path)
            self.assertNotIn("compromised", driver.page_source, path)
            self.assertEqual(driver.find_elements(By.CSS_SELECTOR, ".govuk-notification-banner--success"),
                             [], path)
        self.go(driver, "/admin")
        # A recommendation defined by form; its deadline is read from its text.
        form = driver.find_element(By.CSS_SELECTOR, "form input[name='what'][value='recommendation']")
        form = form.find_element(By.XPATH, "..")
        form.find_element(By.ID, "recommendation-id").send_keys("t1-r1")
        form.find_element(By.XPATH, ".//option[@value='t1']").click()
        form.find_element(By.ID, "recommendation-owners").send_keys("SFO")
        form.find_element(By.ID, "recommendation-text").send_keys(
            "By March 2026, the SFO should review its disclosure training.")
        self.submit(driver, form.find_element(By.CSS_SELECTOR, "button"))
        self.assertIn("/recommendations/t1-r1", driver.current_url)
        self.assertIn("31 March 2026", driver.page_source)  # the milestone read from the text
        self.assertEqual(self.server.timeline("t1-r1")[0]["actor"], "account:staff@hmcpsi.example")
        # A body lead's token needs a body: said at Body, in the page's words; the choices
        # and the label are kept.
        self.go(driver, "/admin")
        Select(driver.find_element(By.ID, "token-role")).select_by_value("body_lead")
        driver.find_element(By.ID, "token-label").send_keys("sfo feed")
        self.submit(driver, driver.find_element(By.CSS_SELECTOR, "form[action='/admin/tokens'] button"))
        self.assertEqual([a.get_attribute("hash") for a in driver.find_elements(
            By.CSS_SELECTOR, ".govuk-error-summary a")], ["#token-body"])
        self.assertIn("Select the body a body lead acts for",
                      driver.find_element(By.ID, "token-body-error").text)
        self.assertEqual(Select(driver.find_element(By.ID, "token-role"))
                         .first_selected_option.get_attribute("value"), "body_lead")
        self.assertEqual(driver.find_element(By.ID, "token-label").get_attribute("value"), "sfo feed")
        self.assertEqual(driver.find_elements(By.CSS_SELECTOR, ".rectrack-secret"), [])
        # An inspectorate's token for one body: the page says to choose None.
        self.go(driver, "/admin")
        Select(driver.find_element(By.ID, "token-body")).select_by_value("CPS")
        self.submit(driver, driver.find_element(By.CSS_SELECTOR, "form[action='/admin/tokens'] button"))
        self.assertIn("Select None: an inspectorate does not act for one body",
                      driver.find_element(By.ID, "token-body-error").text)
        # An API token, shown once, then revoked.
        self.go(driver, "/admin")
        driver.find_element(By.ID, "token-label").send_keys("dashboard screen")
        self.submit(driver, driver.find_element(By.CSS_SELECTOR, "form[action='/admin/tokens'] button"))
        secret = driver.find_element(By.CSS_SELECTOR, ".rectrack-secret").text
        self.assertTrue(secret.startswith("rt_"))
        api = urllib.request.Request(self.server.url + "/api/v1/bodies",
                                     headers={"Authorization": "Bearer " + secret})
        self.assertEqual(urllib.request.urlopen(api, timeout=10).status, 200)
        self.submit(driver, driver.find_element(By.XPATH, "//tr[td[text()='dashboard screen']]//button"))
        revoked = driver.find_element(By.XPATH, "//tr[td[text()='dashboard screen']]").text
        self.assertRegex(revoked, r"Revoked \d{1,2} [A-Z][a-z]+ \d{4} at ")
        with self.assertRaises(urllib.error.HTTPError):
            urllib.request.urlopen(api, timeout=10)
        # Reports: downloads with their file names.
        self.go(driver, "/reports/progress?body=CPS")
        self.check_page(driver, "progress")
        cookie = driver.get_cookie("rectrack_session")["value"]
        answer = urllib.request.urlopen(urllib.request.Request(
            self.server.url + "/reports/annex?body=CPS&as_at=2025-03-31&format=csv",
            headers={"Cookie": "rectrack_session=" + cookie}), timeout=10)
        self.assertIn('filename="annex-a-CPS-2025-03-31.csv"', answer.headers["Content-Disposition"])
        # Annex A as a workbook, from the page's own link, read back by openpyxl.
        self.go(driver, "/reports/annex?body=CPS&as_at=2025-03-31")
        link = driver.find_element(By.PARTIAL_LINK_TEXT, "Excel (XLSX)").get_attribute("href")
        answer = urllib.request.urlopen(urllib.request.Request(
            link, headers={"Cookie": "rectrack_session=" + cookie}), timeout=10)
        self.assertIn('filename="annex-a-CPS-2025-03-31.xlsx"', answer.headers["Content-Disposition"])
        import openpyxl  # python3-openpyxl (Debian)
        book = openpyxl.load_workbook(io.BytesIO(answer.read()))
        shown = [cell.text for cell in driver.find_elements(By.CSS_SELECTOR, "tbody th, tbody td")]
        ids = [row[0] for sheet in book for row in sheet.iter_rows(min_row=3, values_only=True)]
        self.assertGreater(len(ids), 0)
        for recommendation in ids:
            self.assertTrue(any(recommendation in text for text in shown), recommendation)
        # And as a PDF from its link: read back by pdftotext, with the page's rows in it.
        link = driver.find_element(By.LINK_TEXT, "PDF").get_attribute("href")
        answer = urllib.request.urlopen(urllib.request.Request(
            link, headers={"Cookie": "rectrack_session=" + cookie}), timeout=60)
        self.assertEqual(answer.headers["Content-Type"], "application/pdf")
        self.assertIn('filename="annex-a-CPS-2025-03-31.pdf"', answer.headers["Content-Disposition"])
        text = subprocess.run(["pdftotext", "-", "-"], input=answer.read(), capture_output=True,
                              timeout=60, check=True).stdout.decode()
        self.assertIn("Table of open recommendations as at 31 March 2025", " ".join(text.split()))

    def test_6c_draft_from_report(self):
        """Issue 18: a report (a real DOCX, made by pandoc) uploaded, its draft reviewed beside
        the report's text, corrected and imported; a bad upload and a bad draft write nothing."""
        driver = self.new_browser()
        self.sign_in(driver, "staff@hmcpsi.example")
        self.go(driver, "/admin")
        self.submit(driver, driver.find_element(By.LINK_TEXT, "Draft from a report"))
        self.check_page(driver, "draft-upload")
        before = rectrack(self.server.db, "list", "--format", "json")
        # Not a document: refused, and said where.
        junk = os.path.join(self.server.dir, "photo.pdf")
        with open(junk, "wb") as f:
            f.write(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
        driver.find_element(By.ID, "report-file").send_keys(junk)
        self.submit(driver, driver.find_element(By.CSS_SELECTOR, "form[action='/admin/draft'] button"))
        summary = driver.find_element(By.CSS_SELECTOR, ".govuk-error-summary").text
        self.assertIn("photo.pdf", summary)
        self.check_page(driver, "draft-upload-error")
        # Over the server's max_body_bytes: a page that says so, not the API's JSON.
        huge = os.path.join(self.server.dir, "huge.txt")
        with open(huge, "wb") as f:
            f.write(b"Recommendations\n\n" + b"x" * (9 << 20))
        driver.find_element(By.ID, "report-file").send_keys(huge)
        self.submit(driver, driver.find_element(By.CSS_SELECTOR, "form[action='/admin/draft'] button"))
        self.assertIn("The file is too large", driver.title)
        self.assertIn("8388608 bytes", driver.page_source)
        self.go(driver, "/admin/draft")
        # A real report as DOCX.
        report = os.path.join(self.server.dir, "economic-crime.docx")
        subprocess.run(["pandoc", os.path.join(SOURCE, "tests", "data", "reports",
                                               "joint-and-outside.md"), "-o", report],
                       check=True, timeout=60)
        driver.find_element(By.ID, "report-file").send_keys(report)
        driver.find_element(By.ID, "draft-inspection").send_keys("ec24")
        driver.find_element(By.ID, "draft-published").send_keys("2024-06-04")
        self.submit(driver, driver.find_element(By.CSS_SELECTOR, "form[action='/admin/draft'] button"))
        self.assertIn("Review the draft", driver.title)
        self.check_page(driver, "draft-review")
        # Each row links to its source in the report's text, which is marked.
        link = driver.find_element(By.LINK_TEXT, "Show recommendation 3 in the report")
        source = driver.find_element(By.ID, link.get_attribute("href").split("#")[1])
        self.assertIn("rectrack-report-source", source.get_attribute("class"))
        numbers = driver.find_element(By.NAME, "rec-3-paragraphs").get_attribute("value")
        marked = " ".join(driver.find_element(By.ID, "report-p-" + n).text
                          for n in numbers.split(","))
        self.assertIn("National Police Chiefs", marked)
        self.assertEqual(driver.find_element(By.ID, "rec-3-owners").get_attribute("value"),
                         "NPCC, CPS")
        self.assertEqual(driver.find_element(By.ID, "rec-3-milestones").get_attribute("value"),
                         "due 2024-09-30")
        paragraphs = len(driver.find_elements(By.CSS_SELECTOR, ".rectrack-report-text p"))
        # Only the drafted items' sources are marked, not the foreword.
        marked = driver.find_elements(By.CSS_SELECTOR, ".rectrack-report-source")
        self.assertLess(len(marked), paragraphs / 2)
        self.assertFalse(any("Chief Inspector" in p.text for p in marked))
        # Imported as drafted, the SPA (no body here) and "prosecutors" owners are refused.
        self.submit(driver, driver.find_element(By.CSS_SELECTOR, "form#draft-import > div button.govuk-button"))
        self.assertIn("govuk-error-summary", driver.page_source)
        self.assertEqual(len(driver.find_elements(By.CSS_SELECTOR, ".rectrack-report-text p")),
                         paragraphs)
        self.check_page(driver, "draft-review-error")
        self.assertEqual(rectrack(self.server.db, "list", "--format", "json"), before)
        # Corrected: the SPA's two left out, an owner given, a deadline changed.
        for n in (1, 2):
            box = driver.find_element(By.ID, "rec-%d-import" % n)
            if box.is_selected():
                box.click()
        driver.find_element(By.ID, "rec-6-owners").send_keys("CPS")
        milestones = driver.find_element(By.ID, "rec-3-milestones")
        milestones.clear()
        milestones.send_keys("due 2024-12-31")
        self.submit(driver, driver.find_element(By.CSS_SELECTOR, "form#draft-import > div button.govuk-button"))
        self.assertIn("/inspections/ec24", driver.current_url)
        shown = json.loads(rectrack(self.server.db, "show", "ec24-r3", "--format", "json"))
        self.assertEqual(shown["owners"], ["NPCC", "CPS"])
        self.assertIn("2024-12-31", json.dumps(shown["milestones"]))
        self.assertEqual(json.loads(rectrack(self.server.db, "show", "ec24-r6", "--format", "json"))
                         ["owners"], ["CPS"])
        with self.assertRaises(subprocess.CalledProcessError):
            rectrack(self.server.db, "show", "ec24-r1")
        # The outside owner, proposed as a new body, was defined with it.
        self.assertEqual(json.loads(rectrack(self.server.db, "show", "ec24-r5", "--format", "json"))
                         ["owners"], ["government"])

    def test_6d_a_report_drafted_again_is_flagged(self):
        """The demo holds the IQA report as iqa25: drafting it again says so among the checks,
        still after an import refused, and importing it is asked about, not assumed."""
        driver = self.new_browser()
        self.sign_in(driver, "staff@hmcpsi.example")
        self.go(driver, "/admin/draft")
        driver.find_element(By.ID, "report-file").send_keys(
            os.path.join(SOURCE, "tests", "data", "reports", "iqa-report-2025.txt"))
        self.submit(driver, driver.find_element(By.CSS_SELECTOR, "form[action='/admin/draft'] button"))
        self.assertIn("Review the draft", driver.title)
        warning = "inspection 'iqa25' has this title and was published 2025-02-11"
        self.assertIn(warning, driver.find_element(By.TAG_NAME, "main").text)
        # The report gives only the month: imported without a day, refused at the field, and the
        # warning is still there.
        import_button = "form#draft-import > div button.govuk-button"
        before = rectrack(self.server.db, "list", "--format", "json")
        self.submit(driver, driver.find_element(By.CSS_SELECTOR, import_button))
        main = driver.find_element(By.TAG_NAME, "main").text
        self.assertIn(warning, main)
        self.assertIn("Enter the date the report was published", driver.find_element(
            By.ID, "inspection-published-error").text)
        self.assertIn("govuk-input--error",
                      driver.find_element(By.ID, "inspection-published").get_attribute("class"))
        self.check_page(driver, "draft-review-published-error")
        # Given that report's day: asked whether it is another report, and nothing is imported
        # until that is ticked.
        driver.find_element(By.ID, "inspection-published").send_keys("2025-02-11")
        self.submit(driver, driver.find_element(By.CSS_SELECTOR, import_button))
        self.assertIn("Inspection iqa25 has this title and was published 11 February 2025",
                      driver.find_element(By.ID, "import-again-error").text)
        self.assertIn(warning, driver.find_element(By.TAG_NAME, "main").text)
        self.assertEqual(rectrack(self.server.db, "list", "--format", "json"), before)
        self.check_page(driver, "draft-review-import-again")
        driver.find_element(By.ID, "import-again").click()
        self.submit(driver, driver.find_element(By.CSS_SELECTOR, import_button))
        self.assertIn("/inspections/iqa25-2", driver.current_url)

    def test_6b_account_by_link(self):
        driver = self.new_browser()
        self.sign_in(driver, "staff@hmcpsi.example")
        self.go(driver, "/admin/accounts")
        # A body lead with no body: said at the body's field, in the page's words (not --body).
        driver.find_element(By.ID, "email").send_keys("lead2@sfo.example")
        driver.find_element(By.XPATH, "//select[@id='role']/option[@value='body_lead']").click()
        self.submit(driver, driver.find_element(By.CSS_SELECTOR, "form[action='/admin/accounts'] button"))
        self.assertEqual(" ".join(driver.find_element(By.ID, "body-error").text.split()),
                         "Error: Select the body a body lead acts for")
        self.assertEqual(driver.find_element(By.ID, "email").get_attribute("value"),
                         "lead2@sfo.example")
        self.check_page(driver, "admin-accounts-error")
        # A reader scoped to a unit: said at the unit's field, the role as people write it.
        driver.find_element(By.XPATH, "//select[@id='role']/option[@value='reader']").click()
        driver.find_element(By.XPATH, "//select[@id='unit']/option[@value='cps-sw']").click()
        self.submit(driver, driver.find_element(By.CSS_SELECTOR, "form[action='/admin/accounts'] button"))
        self.assertEqual(" ".join(driver.find_element(By.ID, "unit-error").text.split()),
                         "Error: A reader account is not scoped to a unit")
        self.go(driver, "/admin/accounts")
        driver.find_element(By.ID, "email").send_keys("new@sfo.example")
        driver.find_element(By.XPATH, "//select[@id='role']/option[@value='reader']").click()
        self.submit(driver, driver.find_element(By.CSS_SELECTOR, "form[action='/admin/accounts'] button"))
        link = driver.find_element(By.CSS_SELECTOR, ".rectrack-secret").text
        # A whole address to send (no public_url here: the one the administrator asked by).
        self.assertTrue(link.startswith(self.server.url + "/set-password?token="), link)
        person = self.new_browser()
        person.get(link)
        self.check_page(person, "set-password")
        person.find_element(By.ID, "password").send_keys("my own good password")
        person.find_element(By.ID, "confirm").send_keys("my own good passwort")
        self.submit(person, person.find_element(By.CSS_SELECTOR, "form button"))
        self.assertIn("not the same", person.find_element(By.CSS_SELECTOR, ".govuk-error-summary").text)
        person.find_element(By.ID, "password").send_keys("my own good password")
        person.find_element(By.ID, "confirm").send_keys("my own good password")
        self.submit(person, person.find_element(By.CSS_SELECTOR, "form button"))
        self.assertIn("Sign in", person.title)
        person.find_element(By.ID, "email").send_keys("new@sfo.example")
        person.find_element(By.ID, "password").send_keys("my own good password")
        self.submit(person, person.find_element(By.CSS_SELECTOR, "form[action='/sign-in'] button"))
        self.assertIn("Dashboard", person.title)
        # Spent: said at once, before a password is typed.
        self.go(person, link[link.index("/set-password"):])
        self.assertIn("This link does not work", person.page_source)
        self.assertEqual(person.find_elements(By.ID, "password"), [])
        # The inspectorate disables the account from the web: its session ends at once.
        self.go(person, "/")
        self.assertIn("Dashboard", person.title)
        self.go(driver, "/admin/accounts")
        self.assertEqual(driver.find_elements(By.XPATH, "//tr[td[1]='staff@hmcpsi.example']//form"), [])
        self.submit(driver, driver.find_element(By.XPATH, "//tr[td[1]='new@sfo.example']//button"))
        self.assertIn("new@sfo.example is disabled", driver.find_element(By.CSS_SELECTOR, ".govuk-notification-banner").text)
        self.check_page(driver, "admin-accounts-disabled")
        self.go(person, "/recommendations")
        self.assertIn("Sign in", person.title)
        self.submit(driver, driver.find_element(By.XPATH, "//tr[td[1]='new@sfo.example']//button"))
        self.assertIn("new@sfo.example is enabled", driver.page_source)
        # A link cannot put words in the banners, nor say a status an account does not have.
        for query in ("?enabled=Your+password+expired,+sign+in+at+evil.example",
                      "?disabled=new@sfo.example", "?added=nobody@evil.example"):
            self.go(driver, "/admin/accounts" + query)
            self.assertEqual(driver.find_elements(By.CSS_SELECTOR, ".govuk-notification-banner"), [], query)
        # An address with '+' and '&' is named whole after it is added.
        self.go(driver, "/admin/accounts")
        driver.find_element(By.ID, "email").send_keys("dave+a&disabled=x@sfo.example")
        driver.find_element(By.XPATH, "//select[@id='role']/option[@value='reader']").click()
        driver.find_element(By.ID, "password").send_keys("a good long password")
        self.submit(driver, driver.find_element(By.CSS_SELECTOR, "form[action='/admin/accounts'] button"))
        banners = driver.find_elements(By.CSS_SELECTOR, ".govuk-notification-banner")
        self.assertEqual(len(banners), 1, driver.page_source)
        self.assertIn("Account added for dave+a&disabled=x@sfo.example.", banners[0].text)
        self.go(person, "/sign-in")
        person.find_element(By.ID, "email").send_keys("new@sfo.example")
        person.find_element(By.ID, "password").send_keys("my own good password")
        self.submit(person, person.find_element(By.CSS_SELECTOR, "form[action='/sign-in'] button"))
        self.assertIn("Dashboard", person.title)

    def test_7_body_lead_has_no_admin(self):
        driver = self.new_browser()
        self.sign_in(driver, "lead@cps.example")
        self.assertEqual(driver.find_elements(By.LINK_TEXT, "Administration"), [])
        for path in ("/admin", "/admin/accounts", "/admin/audit"):
            self.go(driver, path)
            self.assertIn("Page not found", driver.page_source, path)

    def test_8_second_factor(self):
        driver = self.new_browser()
        self.sign_in(driver, "lead@sfo.example")
        self.go(driver, "/account/second-factor")
        self.check_page(driver, "second-factor")
        # A key of the sender's own choosing (all zeros), with its right code, is refused: the
        # key must be the one the page gave.
        chosen = "A" * 32
        driver.execute_script("document.querySelector(\"input[name='secret']\").value = arguments[0]",
                              chosen)
        # Nor with a MAC made from what the page shows (its CSRF token): the MAC's key is the
        # server's own.
        csrf = driver.find_element(By.CSS_SELECTOR, "input[name='csrf']").get_attribute("value")
        forged = hmac.new(csrf.encode(), ("second factor key " + chosen).encode(),
                          hashlib.sha256).hexdigest()
        driver.execute_script(
            "document.querySelector(\"input[name='secret_check']\").value = arguments[0]", forged)
        driver.find_element(By.ID, "code").send_keys(totp(chosen, int(time.time()) // 30))
        self.submit(driver, driver.find_element(By.CSS_SELECTOR, "form[action='/account/second-factor'] button"))
        self.assertIn("Add the key this page shows now",
                      driver.find_element(By.CSS_SELECTOR, ".govuk-error-summary").text)
        self.assertNotEqual(driver.find_element(By.CSS_SELECTOR, ".rectrack-secret").text, chosen)
        secret = driver.find_element(By.CSS_SELECTOR, ".rectrack-secret").text
        # The authenticator's link, read as a URL: the account, encoded, is its label, and the
        # secret its query's (an address holding '#' or '?' would otherwise cut it off).
        href = driver.find_element(
            By.PARTIAL_LINK_TEXT, "add rectrack to an authenticator").get_attribute("href")
        self.assertIn("otpauth://totp/rectrack:lead%40sfo.example?secret=", href)
        uri = urllib.parse.urlsplit(href)
        self.assertEqual(urllib.parse.unquote(uri.path), "/rectrack:lead@sfo.example")
        self.assertEqual(urllib.parse.parse_qs(uri.query)["secret"], [secret])
        driver.find_element(By.ID, "code").send_keys(totp(secret, int(time.time()) // 30))
        self.submit(driver, driver.find_element(By.CSS_SELECTOR, "form[action='/account/second-factor'] button"))
        self.assertIn("Your second factor is on", driver.page_source)
        # Once on, the set-up page is not offered again: it would replace it with a session alone.
        self.go(driver, "/account/second-factor")
        self.assertTrue(driver.current_url.endswith("/account"), driver.current_url)
        self.submit(driver, driver.find_element(By.CSS_SELECTOR, "form[action='/sign-out'] button"))
        # Now the password alone is not enough.
        self.go(driver, "/sign-in")
        driver.find_element(By.ID, "email").send_keys("lead@sfo.example")
        driver.find_element(By.ID, "password").send_keys(PASSWORD)
        self.submit(driver, driver.find_element(By.CSS_SELECTOR, "form[action='/sign-in'] button"))
        self.assertIn("/sign-in/code", driver.current_url)
        self.check_page(driver, "sign-in-code")
        self.go(driver, "/recommendations")
        self.assertIn("/sign-in/code", driver.current_url)
        near = {totp(secret, int(time.time()) // 30 + k) for k in range(-2, 4)}
        driver.find_element(By.ID, "code").send_keys(
            next(c for c in ("000000", "111111", "222222", "333333") if c not in near))
        self.submit(driver, driver.find_element(By.CSS_SELECTOR, "form[action='/sign-in/code'] button"))
        self.assertIn("code", driver.find_element(By.CSS_SELECTOR, ".govuk-error-summary").text)
        driver.find_element(By.ID, "code").send_keys(totp(secret, int(time.time()) // 30 + 1))
        self.submit(driver, driver.find_element(By.CSS_SELECTOR, "form[action='/sign-in/code'] button"))
        self.assertIn("Dashboard", driver.title)

    def tab_to(self, driver, matches, limit=80):
        """Presses Tab until the focused element `matches` (a function of it); fails after
        `limit` presses. Returns the element."""
        for _ in range(limit):
            driver.switch_to.active_element.send_keys(Keys.TAB)
            focused = driver.switch_to.active_element
            if matches(focused):
                return focused
        self.fail("no focusable element matched within %d presses of Tab" % limit)

    def test_9_keyboard_only(self):
        """Sign in and record progress with the keyboard alone: Tab, typing, Enter."""
        driver = self.new_browser()
        self.go(driver, "/sign-in")
        skip = self.tab_to(driver, lambda e: e.get_attribute("class") == "govuk-skip-link")
        self.assertEqual(skip.text, "Skip to main content")
        self.tab_to(driver, lambda e: e.get_attribute("id") == "email").send_keys("lead@cps.example")
        self.tab_to(driver, lambda e: e.get_attribute("id") == "password").send_keys(PASSWORD)
        page = driver.find_element(By.TAG_NAME, "html")
        driver.switch_to.active_element.send_keys(Keys.ENTER)
        wait_for_new_page(driver, page)
        self.assertIn("Dashboard", driver.title)
        self.go(driver, "/recommendations/da25-n1")
        summary = self.tab_to(driver, lambda e: e.tag_name == "summary" and e.text == "Update")
        summary.send_keys(Keys.ENTER)  # opens the form
        self.tab_to(driver, lambda e: e.get_attribute("id") == "update-note").send_keys("by keyboard")
        button = self.tab_to(driver, lambda e: e.tag_name == "button" and e.text == "Update")
        page = driver.find_element(By.TAG_NAME, "html")
        button.send_keys(Keys.ENTER)
        wait_for_new_page(driver, page)
        self.assertIn("recorded=update", driver.current_url)
        self.assertEqual(self.server.timeline("da25-n1")[-1]["note"], "by keyboard")

    def test_9b_pages_reflow_at_320_pixels(self):
        """WCAG 2.2's reflow: at 320 CSS pixels (a phone, or 400% zoom) no page scrolls sideways
        as a whole; a table too wide scrolls on its own, and can be scrolled from the keyboard."""
        driver = self.new_browser()
        self.sign_in(driver, "staff@hmcpsi.example")
        driver.set_window_size(320, 900)
        width = driver.execute_script("return window.innerWidth")
        self.assertLessEqual(width, 320)
        for path in ("/", "/recommendations", "/recommendations/sw22-i1", "/actions",
                     "/actions/sw22-i1-a4", "/inspections", "/inspections/da23", "/alerts",
                     "/reports/annex?body=CPS", "/reports/progress?body=CPS", "/admin",
                     "/admin/accounts", "/admin/audit", "/account"):
            self.go(driver, path)
            page = driver.execute_script("return document.documentElement.scrollWidth")
            self.assertLessEqual(page, width, path + " scrolls sideways as a whole")
            for pane in driver.find_elements(By.CSS_SELECTOR, ".rectrack-table-pane"):
                self.assertEqual(pane.get_attribute("tabindex"), "0", path)
            # Nothing lies over the list: its first link, scrolled to, is what is there.
            links = driver.find_elements(By.CSS_SELECTOR, "table.govuk-table tbody a")
            if path in ("/recommendations", "/actions"):
                self.assertTrue(links, path)
            if links:
                driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", links[0])
                shown = driver.execute_script(
                    "const r = arguments[0].getBoundingClientRect();"
                    "return document.elementFromPoint(r.left + 2, r.top + r.height / 2);", links[0])
                self.assertEqual(shown, links[0], path + ": something lies over the list")
            # The calendar of a one-field date, open, fits too.
            for toggle in driver.find_elements(By.CSS_SELECTOR, ".moj-js-datepicker-toggle")[:1]:
                driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", toggle)
                toggle.click()
                page = driver.execute_script("return document.documentElement.scrollWidth")
                self.assertLessEqual(page, width, path + ": the calendar is wider than the page")
                driver.switch_to.active_element.send_keys(Keys.ESCAPE)

    def test_4b_headers_cannot_be_injected(self):
        # A sign-in's `next` with a CR LF in it goes home, and adds no header of its own.
        status, headers = self.post_with_headers(
            "/sign-in", {"email": "lead@cps.example", "password": PASSWORD,
                         "next": "/recommendations\r\nX-Injected: yes"})
        self.assertEqual(status, 303)
        self.assertEqual(headers["Location"], "/")
        self.assertIsNone(headers.get("X-Injected"))
        cookie = re.search(r"rectrack_session=([^;]+)", headers["Set-Cookie"]).group(1)
        # A download's file name comes from a parsed date: a bad one is an error page instead.
        request = urllib.request.Request(
            self.server.url + "/recommendations?format=csv&as_at=" +
            urllib.parse.quote("2025-03-31\r\nX-Injected: yes"),
            headers={"Cookie": "rectrack_session=" + cookie})
        with self.assertRaises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
        self.assertEqual(refused.exception.code, 400)
        self.assertIsNone(refused.exception.headers.get("X-Injected"))
        self.assertIn("text/html", refused.exception.headers["Content-Type"])

    def post_with_headers(self, path, fields):
        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args, **kwargs):
                return None

        opener = urllib.request.build_opener(NoRedirect)
        request = urllib.request.Request(
            self.server.url + path, data=urllib.parse.urlencode(fields).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"})
        try:
            answer = opener.open(request, timeout=30)
            return answer.status, answer.headers
        except urllib.error.HTTPError as e:
            return e.code, e.headers

    def post(self, path, fields, cookie=None):
        data = urllib.parse.urlencode(fields).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if cookie:
            headers["Cookie"] = "rectrack_session=" + cookie

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args, **kwargs):
                return None

        opener = urllib.request.build_opener(NoRedirect)
        try:
            return opener.open(urllib.request.Request(self.server.url + path, data=data,
                                                      headers=headers), timeout=30).status
        except urllib.error.HTTPError as e:
            return e.code


class PublicTrackerTest(unittest.TestCase):
    """With public_read on, recommendations and inspections can be read without signing in.
    This server says it runs on gov.uk, so its pages are set in GDS Transport."""

    @classmethod
    def setUpClass(cls):
        cls.server = Server("--public-read", env={"RECTRACK_GOV_UK": "true"})
        cls.driver = browser()
        with open(AXE, encoding="utf-8") as f:
            cls.axe = f.read()

    @classmethod
    def tearDownClass(cls):
        cls.driver.quit()
        cls.server.stop()

    def test_reads_without_sign_in_and_no_forms(self):
        d = self.driver
        d.get(self.server.url + "/recommendations?body=CPS")
        self.assertIn("Recommendations", d.title)
        self.assertIn("da23-r2", d.page_source)
        d.get(self.server.url + "/recommendations/da23-r2")
        self.assertIn("reopened", d.page_source)
        self.assertEqual(d.find_elements(By.CSS_SELECTOR, "input[name='do']"), [])
        WebWorkspaceTest.check_page(self, d, "public-recommendation")
        for path in ("/", "/alerts", "/actions", "/admin"):
            d.get(self.server.url + path)
            self.assertIn("Sign in", d.title, path)

    def test_a_service_on_gov_uk_uses_gds_transport(self):
        d = self.driver
        d.get(self.server.url + "/recommendations")
        family = d.execute_script("return getComputedStyle(document.querySelector('h1')).fontFamily")
        self.assertTrue(family.startswith('"GDS Transport"'), family)
        # The font files the stylesheet names are served, and the browser loads them.
        loaded = d.execute_script(
            "return document.fonts.load('19px \"GDS Transport\"').then(f => f.length)")
        self.assertGreater(loaded, 0)
        # So are its icons: GOV.UK's crown, as GOV.UK's template links them, each served.
        self.assertEqual(page_icons(d), [["/assets/images/favicon.ico", "image/x-icon", 200],
                                         ["/assets/images/favicon.svg", "image/svg+xml", 200]])

    def test_z_a_history_that_cannot_be_read_back_is_a_problem_page(self):
        """The item index damaged behind the server's back (it keeps histories out of memory,
        and reads them back from the index): a page that needs the history is GOV.UK's 'Sorry,
        there is a problem with the service' page, naming the action and what repairs it,
        passing axe like every other page; rebuilt, it reads again."""
        def damage(db_path):
            # The index and heads up to the log (so that every history is let go), then
            # sw22-i1-a3's rows in the index taken out, but its first.
            rectrack(db_path, "rebuild")
            db = sqlite3.connect(db_path)
            try:
                with db:
                    db.execute("DELETE FROM item_events WHERE item = ?1 AND seq <> "
                               "(SELECT min(seq) FROM item_events WHERE item = ?1)",
                               ("sw22-i1-a3",))
            finally:
                db.close()

        d = self.driver
        server = Server("--public-read", before_serving=damage)
        self.addCleanup(server.stop)
        server.wait_until_histories_are_let_go()
        page = server.url + "/recommendations/sw22-i1?as_at=2022-12-01"
        d.get(page)
        self.assertIn("Sorry, there is a problem with the service", d.title)
        self.assertIn("sw22-i1-a3", d.page_source)
        self.assertIn("rectrack rebuild", d.page_source)
        WebWorkspaceTest.check_page(self, d, "problem-unreadable-history")
        rectrack(server.db, "rebuild")
        d.get(page)
        self.assertNotIn("Sorry, there is a problem", d.title)
        self.assertIn("sw22-i1-a3", d.page_source)

if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"])
