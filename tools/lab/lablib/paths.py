"""The network path of one session, drawn from the run's seeded ranges.

Each session sits behind an access link of its own (tools/lab/pathemu.c
emulates it): loss, rate, buffer, delay and jitter for each way. Ranges come from the command line (--rtt, --loss, --rate, --mtu,
--jitter), so an independent check can use its own.
"""
import math
from dataclasses import dataclass, asdict


@dataclass
class Ranges:
    rtt_ms: tuple = (2.0, 200.0)        # round trip of the access path, both ways together
    jitter_frac: tuple = (0.0, 0.25)    # jitter as a fraction of each way's delay
    loss_pct: tuple = (0.0, 2.0)        # per direction
    rate_mbit: tuple = (1.0, 1000.0)    # downlink; the uplink is a fraction of it
    mtus: tuple = (1500, 1400)


def parse_range(text, what):
    try:
        lo, _, hi = text.partition("-")
        lo, hi = float(lo), float(hi or lo)
    except ValueError:
        raise SystemExit(f"lab: bad range for {what}: {text!r} (want LOW-HIGH)")
    if lo < 0 or hi < lo:
        raise SystemExit(f"lab: bad range for {what}: {text!r} (want 0 <= LOW <= HIGH)")
    return (lo, hi)


def log_uniform(rng, lo, hi):
    if lo <= 0:
        lo = min(hi, 1e-3)
    return math.exp(rng.uniform(math.log(lo), math.log(hi)))


@dataclass
class Path:
    rtt_ms: float
    delay_up_ms: float
    delay_down_ms: float
    jitter_up_ms: float
    jitter_down_ms: float
    jitter_dist: str
    loss_up_pct: float
    loss_down_pct: float
    rate_up_kbit: int
    rate_down_kbit: int
    buffer_ms: int
    mtu: int

    def columns(self):
        return asdict(self)


def draw_path(rng, r):
    rtt = log_uniform(rng, max(r.rtt_ms[0], 0.2), r.rtt_ms[1])
    # the two ways rarely take exactly half each
    split = rng.uniform(0.35, 0.65)
    up, down = rtt * split, rtt * (1 - split)
    jf = rng.uniform(*r.jitter_frac)
    # about a third of paths lose nothing
    def loss():
        if rng.random() < 0.3 or r.loss_pct[1] <= 0:
            return r.loss_pct[0]
        return log_uniform(rng, max(r.loss_pct[0], 0.01), r.loss_pct[1])
    down_rate = log_uniform(rng, r.rate_mbit[0], r.rate_mbit[1])
    # access links are asymmetric more often than not
    up_rate = max(r.rate_mbit[0], down_rate * rng.choice([1.0, rng.uniform(0.05, 1.0)]))
    return Path(
        rtt_ms=round(rtt, 3),
        delay_up_ms=round(up, 3), delay_down_ms=round(down, 3),
        jitter_up_ms=round(up * jf * rng.uniform(0.5, 1.5), 3),
        jitter_down_ms=round(down * jf * rng.uniform(0.5, 1.5), 3),
        jitter_dist=rng.choice(["normal", "pareto", "paretonormal"]),
        loss_up_pct=round(loss(), 4), loss_down_pct=round(loss(), 4),
        rate_up_kbit=int(up_rate * 1000), rate_down_kbit=int(down_rate * 1000),
        buffer_ms=int(rng.uniform(20, 250)),
        mtu=int(rng.choice(r.mtus)),
    )
