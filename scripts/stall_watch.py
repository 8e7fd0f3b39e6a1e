#!/usr/bin/env python3
"""Watches for the machine stopping: sleeps 50 ms at a time and keeps the worst oversleep seen, on the
monotonic and on the wall clock. A virtual machine that its host pauses or snapshots ("virtual machine
fork" in the kernel log) stops every process for seconds; a loaded one delays a sleeper by tens of
milliseconds at most. On SIGTERM it writes the worst oversleep, in whole milliseconds, to OUT_FILE.

Usage: stall_watch.py OUT_FILE
"""

import signal
import sys
import time

SLEEP_S = 0.05


def main():
    out_path = sys.argv[1]
    worst_s = 0.0

    def report(*_):
        with open(out_path, "w") as out:
            out.write("%d\n" % round(worst_s * 1000))
        sys.exit(0)

    signal.signal(signal.SIGTERM, report)
    while True:
        monotonic, wall = time.monotonic(), time.time()
        time.sleep(SLEEP_S)
        late_s = max(time.monotonic() - monotonic, time.time() - wall) - SLEEP_S
        worst_s = max(worst_s, late_s)


if __name__ == "__main__":
    main()
