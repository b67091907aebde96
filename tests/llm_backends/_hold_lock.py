"""Child process that holds a SQLite database's write lock, as another program sharing a cache
would: ``BEGIN EXCLUSIVE``, then ``LOCKED`` on stdout, until a line (or EOF) on stdin.

Usage: python _hold_lock.py DATABASE
"""

from __future__ import annotations

import sqlite3
import sys


def main(path: str) -> None:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("BEGIN EXCLUSIVE")
    print("LOCKED", flush=True)
    sys.stdin.readline()
    db.execute("ROLLBACK")
    db.close()
    print("RELEASED", flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
