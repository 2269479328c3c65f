#!/usr/bin/python3
"""Scores verdicts against the lab's labels (tools/lab/live_check.sh).

  score.py LABELS.csv AGENT_EVENTS CLASSIFY_EVENTS
Each events file holds one JSON object a line (odeflow run --events,
odeflow classify). A direction's verdict is its last event (the cascade's
final one when it settled). Prints, per class and per application, how
many directions the agent judged and how many it named right, next to
classify on the same directions and on every direction of the capture."""
import csv
import json
import sys
from collections import defaultdict


def conn_key(proto, a, ap, b, bp):
    return (int(proto),) + tuple(sorted([(a, int(ap)), (b, int(bp))]))


def labels(path):
    out = {}
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            proto = {"tcp": 6, "udp": 17}.get(r["protocol"], r["protocol"])
            out[conn_key(proto, r["client_addr"], r["client_port"], r["server_addr"], r["server_port"])] = \
                (r["class"], r["app"])
    return out


def verdicts(path):
    """{direction: (first class, last class)}"""
    first, last = {}, {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line.startswith("{"):
                continue
            try:
                e = json.loads(line)
            except json.JSONDecodeError:
                continue
            d = (e["proto"], e["src"], e["sport"], e["dst"], e["dport"])
            first.setdefault(d, e["class"])
            last[d] = e["class"]
    return {d: (first[d], last[d]) for d in last}


def main():
    lab = labels(sys.argv[1])
    agent, offline = verdicts(sys.argv[2]), verdicts(sys.argv[3])

    def tally(v, only=None):
        t = defaultdict(lambda: [0, 0, 0])   # judged, final right, first right
        for d, (first, last) in v.items():
            if only is not None and d not in only:
                continue
            key = conn_key(d[0], d[1], d[2], d[3], d[4])
            if key not in lab:
                continue
            cls, app = lab[key]
            for k in (("class", cls), ("app", f"{cls}/{app}"), ("all", "all")):
                t[k][0] += 1
                t[k][1] += last == cls
                t[k][2] += first == cls
        return t
    a, c_same, c_all = tally(agent), tally(offline, set(agent)), tally(offline)
    unlabelled = sum(1 for d in agent if conn_key(*d) not in lab)

    def pct(x):
        return f"{100 * x[1] / x[0]:5.1f}%" if x[0] else "    -"
    print(f"{'':28} {'agent (live)':>22} {'classify, same dirs':>22} {'classify, all dirs':>22}")
    print(f"{'':28} {'dirs':>6} {'final':>7} {'first':>7} {'dirs':>6} {'final':>7} {'first':>7} "
          f"{'dirs':>6} {'final':>7} {'first':>7}")
    keys = sorted(k for k in set(a) | set(c_all) if k[0] == "class") + \
        sorted(k for k in set(a) | set(c_all) if k[0] == "app") + [("all", "all")]
    for k in keys:
        x, y, z = a.get(k, [0, 0, 0]), c_same.get(k, [0, 0, 0]), c_all.get(k, [0, 0, 0])
        print(f"{k[1]:<28} {x[0]:>6} {pct(x):>7} {pct(x[:1] + x[2:]):>7} {y[0]:>6} {pct(y):>7} "
              f"{pct(y[:1] + y[2:]):>7} {z[0]:>6} {pct(z):>7} {pct(z[:1] + z[2:]):>7}")
    print(f"directions the agent judged that labels.csv does not name: {unlabelled}")


if __name__ == "__main__":
    main()
