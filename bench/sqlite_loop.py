#!/usr/bin/env python3
"""The write baseline: a plain loop of single-row INSERT commits into a fresh SQLite file.

    bench/sqlite_loop.py [--seconds 10] DB_FILE

Same durability settings as rectrack (storage/database.cpp): journal_mode=WAL, synchronous=FULL,
foreign_keys=ON; one `BEGIN IMMEDIATE; INSERT ...; COMMIT` per row, i.e. one fsync'd commit per
row, nothing grouped. The row is about the size of a rectrack event row. Prints one line:
`commits=N seconds=S commits_per_second=R`.
"""

import argparse
import hashlib
import os
import sqlite3
import sys
import time


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("db")
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args(argv)
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(args.db + suffix):
            sys.exit(f"sqlite_loop.py: {args.db + suffix} exists; give a fresh file")

    db = sqlite3.connect(args.db, isolation_level=None)  # autocommit: we issue BEGIN/COMMIT
    mode = db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if mode.lower() != "wal":
        sys.exit(f"sqlite_loop.py: journal_mode is {mode}, not wal")
    db.execute("PRAGMA synchronous = FULL")
    db.execute("PRAGMA foreign_keys = ON")
    db.execute("""CREATE TABLE events (
                    seq INTEGER PRIMARY KEY,
                    subject_id TEXT NOT NULL,
                    transition TEXT NOT NULL,
                    effective TEXT NOT NULL,
                    recorded TEXT NOT NULL,
                    note TEXT NOT NULL,
                    payload TEXT NOT NULL,
                    hash BLOB NOT NULL)""")

    insert = "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
    payload = '{"role":"body_lead","body":"CPS","fields":{}}'
    commits = 0
    start = time.monotonic()
    deadline = start + args.seconds
    while time.monotonic() < deadline:
        commits += 1
        db.execute("BEGIN IMMEDIATE")
        db.execute(insert, (commits, f"insp{commits % 100:03d}-r{commits % 10000:05d}", "update",
                            "2026-11-22", "2026-11-22T00:00:00Z", "bench", payload,
                            hashlib.sha256(str(commits).encode()).digest()))
        db.execute("COMMIT")
    elapsed = time.monotonic() - start
    db.close()
    print(f"commits={commits} seconds={elapsed:.2f} commits_per_second={commits / elapsed:.1f}")


if __name__ == "__main__":
    main(sys.argv[1:])
