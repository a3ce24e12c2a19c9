"""A test program for log following: each run writes numbered lines fast enough to rotate its log.

Run R (counted in var/counter-run) prints "run R starting", pauses, writes LINES numbered lines in
small bursts, prints "run R done", then idles until supervisord stops it.
"""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path

LINES = 2000


def main() -> None:
    counter = Path("var/counter-run")
    run = int(counter.read_text()) + 1 if counter.exists() else 1
    counter.write_text(str(run))
    print(f"run {run} starting", flush=True)
    time.sleep(1)  # a program's start-up
    for i in range(LINES):
        print(f"run {run} line {i:05d} {'x' * (i % 50)}", flush=True)
        if i % 100 == 99:
            time.sleep(0.05)
    print(f"run {run} done", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
