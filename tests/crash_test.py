#!/usr/bin/python3
"""Crash under load (issue 15): `rectrack serve` takes concurrent HTTP writes and is killed with
SIGKILL at random moments, then restarted, over a bounded number of cycles. Every write that was
answered 201 must be in the log afterwards, and `rectrack verify` must pass (the hash chain holds
and every event replays).

Usage: crash_test.py RECTRACK_BINARY SOURCE_DIR [CYCLES]
"""
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

BINARY, SOURCE = sys.argv[1], sys.argv[2]
CYCLES = int(sys.argv[3]) if len(sys.argv) > 3 else 6
WRITERS = 8
IDS = ["da25-n1", "da25-n2", "da23-r1", "cfq24-r1"]  # open CPS recommendations of the demo


def cli(db, *args):
    return subprocess.run([BINARY, "--db", db, *args], capture_output=True, text=True,
                          timeout=120, check=True).stdout


def start(db):
    process = subprocess.Popen([BINARY, "--db", db, "serve", "--listen", "127.0.0.1:0"],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                               env=dict(os.environ, RECTRACK_RATE_PER_MINUTE="0",
                                        RECTRACK_RATE_BYTES_PER_MINUTE="0"))
    line = process.stdout.readline()
    match = re.search(r"on (http://127\.0\.0\.1:\d+)", line)
    if not match:
        process.kill()
        sys.exit("serve did not start: " + line)
    return process, match.group(1)


def main():
    random.seed(int(os.environ.get("CRASH_SEED", "15")))
    work = tempfile.mkdtemp(prefix="rectrack-crash-")
    db = os.path.join(work, "crash.db")
    try:
        cli(db, "import", *[os.path.join(SOURCE, "demo", f)
                            for f in ("domestic-abuse.yaml", "more-bodies.yaml")])
        token = cli(db, "token", "create", "--role", "body_lead", "--body", "CPS").splitlines()[0]
        acknowledged = set()
        lock = threading.Lock()
        counter = [0]
        for cycle in range(CYCLES):
            process, base = start(db)
            stop = threading.Event()

            def writer(number):
                while not stop.is_set():
                    with lock:
                        counter[0] += 1
                        note = "crash-%d-%d" % (cycle, counter[0])
                    body = json.dumps({"do": "update", "note": note}).encode()
                    request = urllib.request.Request(
                        "%s/api/v1/recommendations/%s/events" % (base, IDS[number % len(IDS)]),
                        data=body, method="POST",
                        headers={"Authorization": "Bearer " + token,
                                 "Content-Type": "application/json"})
                    try:
                        with urllib.request.urlopen(request, timeout=10) as answer:
                            if answer.status == 201:
                                with lock:
                                    acknowledged.add(note)
                    except (urllib.error.URLError, ConnectionError, OSError):
                        time.sleep(0.01)  # the server is gone (killed) or busy: try again

            threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
            for t in threads:
                t.start()
            time.sleep(random.uniform(0.3, 1.5))
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
            stop.set()
            for t in threads:
                t.join(timeout=30)
        verified = cli(db, "verify")
        notes = set()
        for rec in IDS:
            shown = json.loads(cli(db, "show", rec, "--format", "json"))
            notes.update(e.get("note", "") for e in shown["timeline"])
        lost = acknowledged - notes
        print("%d cycles, %d acknowledged writes, %d lost; %s" %
              (CYCLES, len(acknowledged), len(lost), verified.splitlines()[0]))
        if not acknowledged:
            sys.exit("no write was acknowledged: the test proved nothing")
        if lost:
            sys.exit("acknowledged writes lost: " + ", ".join(sorted(lost)[:10]))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
