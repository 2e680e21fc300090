#!/usr/bin/python3
"""Email through the relays organisations run (issue 20), by `rectrack alerts test-email` against
real SMTP servers on 127.0.0.1 (python3-aiosmtpd): STARTTLS with a certificate made for the
test, AUTH, implicit TLS (smtps://), and the failures that must send nothing in clear: a wrong
password, a certificate rectrack does not trust, a relay without STARTTLS. What arrives is parsed
back with Python's email package.

Usage: smtp_relay_test.py RECTRACK_BINARY. Exits 77 (skipped) when aiosmtpd or openssl is missing,
unless RECTRACK_REQUIRE_TOOLS=1.
"""
import email
import email.policy
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import unittest

BINARY = os.path.abspath(sys.argv.pop(1)) if len(sys.argv) > 1 else None


def skip(why):
    if os.environ.get("RECTRACK_REQUIRE_TOOLS") == "1":
        sys.exit("required tool missing: " + why)
    print("skipped: " + why)
    sys.exit(77)


try:
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult
except ImportError:
    skip("python3-aiosmtpd is not installed (deploy/install-deps.sh installs it)")
if not shutil.which("openssl"):
    skip("openssl is not installed")

USER, PASSWORD = "rectrack", "relay-password-1"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Recorder:
    """An aiosmtpd handler that keeps every command it was asked to act on and each message."""

    def __init__(self):
        self.commands, self.messages = [], []

    async def handle_MAIL(self, server, session, envelope, address, options):
        self.commands.append("MAIL")
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, options):
        self.commands.append("RCPT")
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.commands.append("DATA")
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 2.0.0 queued as test-42"


def authenticate(server, session, envelope, mechanism, auth_data):
    ok = auth_data.login == USER.encode() and auth_data.password == PASSWORD.encode()
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535


class SmtpRelayTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="rectrack-smtp-")
        cls.cert = os.path.join(cls.dir, "relay.pem")
        cls.key = os.path.join(cls.dir, "relay.key")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
                        "-keyout", cls.key, "-out", cls.cert],
                       check=True, capture_output=True, timeout=60)
        cls.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cls.context.load_cert_chain(cls.cert, cls.key)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def relay(self, **kwargs):
        """Starts a relay on a free port; stopped at the test's end."""
        recorder = Recorder()
        port = free_port()
        controller = Controller(recorder, hostname="127.0.0.1", port=port,
                                server_hostname="localhost", **kwargs)
        controller.start()
        self.addCleanup(controller.stop)
        return recorder, port

    def starttls_relay(self):
        return self.relay(tls_context=self.context, require_starttls=True, auth_required=True,
                          auth_require_tls=True, authenticator=authenticate)

    def send(self, url, password=PASSWORD, ca_file=None, plain=False):
        env = dict(os.environ, RECTRACK_SMTP_URL=url, RECTRACK_SMTP_USER=USER,
                   RECTRACK_SMTP_PASSWORD_ENV="TEST_RELAY_PASSWORD", TEST_RELAY_PASSWORD=password,
                   RECTRACK_SMTP_FROM="alerts@hmcpsi.example")
        if ca_file:
            env["RECTRACK_SMTP_CA_FILE"] = ca_file
        if plain:
            env["RECTRACK_SMTP_PLAIN"] = "true"
        return subprocess.run([BINARY, "alerts", "test-email", "--to", "lead@cps.example"],
                              capture_output=True, text=True, env=env, timeout=60)

    def test_starttls_and_auth_deliver_a_message_the_email_package_reads(self):
        recorder, port = self.starttls_relay()
        result = self.send("smtp://localhost:%d" % port, ca_file=self.cert)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("queued as test-42", result.stdout)
        self.assertEqual(len(recorder.messages), 1)
        mail_from, rcpt_tos, content = recorder.messages[0]
        self.assertEqual(mail_from, "alerts@hmcpsi.example")
        self.assertEqual(rcpt_tos, ["lead@cps.example"])
        message = email.message_from_bytes(content, policy=email.policy.default)
        self.assertEqual(message["From"], "alerts@hmcpsi.example")
        self.assertEqual(message["To"], "lead@cps.example")
        self.assertEqual(message["Subject"], "[rectrack] test message — your SMTP settings work")
        self.assertTrue(message["Message-ID"].endswith(".hmcpsi.example>"), message["Message-ID"])
        self.assertIsNotNone(message["Date"].datetime)
        self.assertEqual(message.get_content_type(), "text/plain")
        self.assertIn("rectrack alerts test-email", message.get_content())
        self.assertIn("—", message.get_content())  # UTF-8 in the body comes back whole

    def test_implicit_tls_on_smtps(self):
        recorder, port = self.relay(ssl_context=self.context, auth_required=True,
                                    auth_require_tls=False, authenticator=authenticate)
        result = self.send("smtps://localhost:%d" % port, ca_file=self.cert)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(len(recorder.messages), 1)

    def test_a_wrong_password_is_refused_and_nothing_sent(self):
        recorder, port = self.starttls_relay()
        result = self.send("smtp://localhost:%d" % port, password="not-the-password",
                           ca_file=self.cert)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("refused the user name or password", result.stderr)
        self.assertIn("535", result.stderr)  # the relay's own words, for the operator
        self.assertNotIn("not-the-password", result.stderr)
        self.assertEqual(recorder.commands, [])

    def test_an_untrusted_certificate_is_refused_and_nothing_sent(self):
        recorder, port = self.starttls_relay()
        result = self.send("smtp://localhost:%d" % port)  # the system's CAs do not know it
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("certificate does not verify", result.stderr)
        self.assertEqual(recorder.commands, [])

    def test_a_relay_without_starttls_gets_nothing_in_clear(self):
        recorder, port = self.relay(auth_require_tls=False, authenticator=authenticate)
        result = self.send("smtp://localhost:%d" % port, ca_file=self.cert)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("does not offer STARTTLS", result.stderr)
        self.assertEqual(recorder.commands, [])

    def test_plain_is_only_for_a_relay_on_this_machine(self):
        recorder, port = self.relay(auth_require_tls=False, authenticator=authenticate)
        result = self.send("smtp://127.0.0.1:%d" % port, plain=True)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(len(recorder.messages), 1)
        refused = self.send("smtp://relay.example:25", plain=True)
        self.assertNotEqual(refused.returncode, 0)
        self.assertIn("only for a relay on this machine", refused.stderr)


if __name__ == "__main__":
    if not BINARY:
        sys.exit(__doc__)
    unittest.main(verbosity=2)
