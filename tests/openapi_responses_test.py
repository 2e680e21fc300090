#!/usr/bin/python3
"""docs/openapi.yaml says what each answer holds; this checks it against a real `rectrack serve`
over the demo data: every documented JSON success answer of the reads, and of an event recorded
and a file imported, is validated with jsonschema (python3-jsonschema) against the schema the
document gives for that operation and status, so a client generated from it reads real answers.

Usage: openapi_responses_test.py RECTRACK_BINARY SOURCE_DIR
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest
import urllib.error
import urllib.request

import yaml

try:
    import jsonschema
except ImportError:
    if os.environ.get("RECTRACK_REQUIRE_TOOLS") == "1":
        sys.exit("required tool missing: python3-jsonschema")
    print("skipped: python3-jsonschema is not installed")
    sys.exit(77)

BINARY, SOURCE = (sys.argv.pop(1), sys.argv.pop(1)) if len(sys.argv) > 2 else (None, None)


def openapi_to_json_schema(node):
    """OpenAPI 3.0's `nullable: true` is JSON Schema's type [t, "null"]."""
    if isinstance(node, dict):
        out = {k: openapi_to_json_schema(v) for k, v in node.items() if k != "nullable"}
        if node.get("nullable") and "type" in out:
            out["type"] = [out["type"], "null"]
        return out
    if isinstance(node, list):
        return [openapi_to_json_schema(v) for v in node]
    return node


class OpenApiResponsesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with open(os.path.join(SOURCE, "docs", "openapi.yaml"), encoding="utf-8") as f:
            cls.doc = openapi_to_json_schema(yaml.safe_load(f))
        cls.dir = tempfile.mkdtemp(prefix="rectrack-openapi-")
        cls.db = os.path.join(cls.dir, "openapi.db")
        run = lambda *args: subprocess.run([BINARY, "--db", cls.db, *args], capture_output=True,  # noqa: E731
                                           text=True, timeout=120, check=True).stdout
        run("import", *[os.path.join(SOURCE, "demo", f)
                        for f in ("domestic-abuse.yaml", "more-bodies.yaml", "cps-south-west.yaml")])
        cls.tokens = {role: run("token", "create", "--role", role, *extra).splitlines()[0]
                      for role, extra in (("inspectorate", []), ("body_lead", ["--body", "CPS"]))}
        cls.server = subprocess.Popen(
            [BINARY, "--db", cls.db, "--clock", "2025-12-01T08:00:00Z", "serve", "--listen",
             "127.0.0.1:0"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        match = re.search(r"on (http://127\.0\.0\.1:\d+)", cls.server.stdout.readline())
        if not match:
            cls.server.kill()
            raise RuntimeError("serve did not start")
        cls.base = match.group(1)

    @classmethod
    def tearDownClass(cls):
        cls.server.terminate()
        cls.server.wait(timeout=15)
        shutil.rmtree(cls.dir, ignore_errors=True)

    def call(self, method, target, role="inspectorate", body=None, content_type=None):
        headers = {"Authorization": "Bearer " + self.tokens[role]} if role else {}
        if content_type:
            headers["Content-Type"] = content_type
        request = urllib.request.Request(self.base + target, data=body, method=method,
                                         headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                return answer.status, answer.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def check(self, method, template, target, status, **kwargs):
        got, body = self.call(method, target, **kwargs)
        self.assertEqual(got, status, "%s %s: %s" % (method, target, body[:300]))
        operation = self.doc["paths"][template][method.lower()]
        response = operation["responses"][str(status)]
        self.assertIn("content", response, "%s %s %d has no schema" % (method, template, status))
        schema = response["content"]["application/json"]["schema"]
        resolver = jsonschema.RefResolver.from_schema(self.doc)
        try:
            jsonschema.validate(json.loads(body), schema, resolver=resolver)
        except jsonschema.ValidationError as e:
            self.fail("%s %s (%s): %s at %s" % (method, target, operation["operationId"], e.message,
                                                "/".join(str(p) for p in e.absolute_path)))
        return json.loads(body)

    def test_reads_match_their_schemas(self):
        self.check("GET", "/healthz", "/healthz", 200, role=None)
        self.check("GET", "/api/v1/bodies", "/api/v1/bodies", 200)
        self.check("GET", "/api/v1/inspections", "/api/v1/inspections", 200)
        self.check("GET", "/api/v1/recommendations", "/api/v1/recommendations?body=CPS", 200)
        self.check("GET", "/api/v1/recommendations/{id}", "/api/v1/recommendations/da23-r2", 200)
        self.check("GET", "/api/v1/actions", "/api/v1/actions", 200)
        self.check("GET", "/api/v1/actions/{id}", "/api/v1/actions/sw22-i1-a1", 200)
        self.check("GET", "/api/v1/units", "/api/v1/units", 200)
        self.check("GET", "/api/v1/reports/annex", "/api/v1/reports/annex?body=CPS&as_of=2025-03-31",
                   200)
        self.check("GET", "/api/v1/reports/progress", "/api/v1/reports/progress?body=CPS", 200)
        alerts = self.check("GET", "/api/v1/alerts", "/api/v1/alerts?limit=5", 200)
        self.assertTrue(alerts["items"], "the demo clock raises alerts at start")
        self.check("GET", "/api/v1/alerts/{alert_id}",
                   "/api/v1/alerts/" + alerts["items"][0]["id"], 200)

    def test_writes_match_their_schemas(self):
        recorded = self.check("POST", "/api/v1/recommendations/{id}/events",
                              "/api/v1/recommendations/da25-n1/events", 201, role="body_lead",
                              body=b'{"do":"update","note":"schema check"}',
                              content_type="application/json")
        self.assertEqual(recorded["event"]["note"], "schema check")
        self.check("POST", "/api/v1/import", "/api/v1/import", 200,
                   body=b"bodies:\n  - {id: HMPPS, name: HM Prison and Probation Service}\n",
                   content_type="application/yaml")


if __name__ == "__main__":
    if not BINARY:
        sys.exit(__doc__)
    unittest.main(verbosity=2)
