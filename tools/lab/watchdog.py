#!/usr/bin/python3
"""The lab's watchdog: waits for the run (PID) to end or to overrun LIMIT
seconds, ends it in the second case, then removes whatever of run PREFIX is
left (processes in its namespaces, the namespaces). On a normal end there
is nothing left and it exits at once.

  watchdog.py PREFIX PID LIMIT"""
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lablib.topology import teardown  # noqa: E402


def alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


def main():
    prefix, pid, limit = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    for s in (signal.SIGINT, signal.SIGHUP):
        signal.signal(s, signal.SIG_IGN)
    end = time.monotonic() + limit
    while alive(pid) and time.monotonic() < end:
        time.sleep(1)
    if alive(pid):
        print(f"lab watchdog: run {pid} overran {limit:.0f} s: ending it", file=sys.stderr)
        os.kill(pid, signal.SIGTERM)
        for _ in range(60):
            if not alive(pid):
                break
            time.sleep(1)
        if alive(pid):
            os.kill(pid, signal.SIGKILL)
    left = teardown(prefix)
    if left:
        print(f"lab watchdog: removed {' '.join(left)}", file=sys.stderr)


if __name__ == "__main__":
    main()
