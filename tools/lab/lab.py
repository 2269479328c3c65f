#!/usr/bin/python3
"""The lab run behind tools/lab/run.sh (see tools/lab/README.md)."""
import argparse
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lablib import apps_chat, apps_transfer, apps_video, apps_voip, apps_web, labels, media, services, speech  # noqa: E402
from lablib.paths import Ranges, parse_range  # noqa: E402
from lablib.pki import Pki  # noqa: E402
from lablib.procs import Procs, wait_for  # noqa: E402
from lablib.session import Session  # noqa: E402
from lablib.topology import Lab, ns_exec, teardown  # noqa: E402

TOOLS_DIR = os.path.dirname(os.path.abspath(__file__))
CLASSES = {
    "VoIP": apps_voip.APPS,
    "Video": apps_video.APPS,
    "File_Transfer": apps_transfer.APPS,
    "Chat": apps_chat.APPS,
    "Browsing": apps_web.APPS,
}
# sessions of each class side by side, per unit of --parallel: a chat
# conversation costs little, a browser a lot
CLASS_WEIGHT = {"VoIP": 3.0, "Video": 0.75, "File_Transfer": 2.0, "Chat": 7.0, "Browsing": 1.5}
# within a class, sessions of each application in proportion: an aiortc call
# costs this machine three times what a baresip call does
APP_WEIGHT = {"sip-baresip": 2.0}
CACHE = os.environ.get("ODEFLOW_LAB_CACHE", "/var/cache/odeflow-lab")


def say(msg):
    print(f"lab: {msg}", file=sys.stderr, flush=True)


class Run:
    def __init__(self, a):
        self.a = a
        self.run_dir = os.path.abspath(a.out)
        self.tools_dir = TOOLS_DIR
        self.seed = a.seed
        self.rng = random.Random(f"lab-{a.seed}")
        self.ranges = Ranges(rtt_ms=parse_range(a.rtt, "--rtt"), loss_pct=parse_range(a.loss, "--loss"),
                             rate_mbit=parse_range(a.rate, "--rate"),
                             jitter_frac=tuple(x / 100 for x in parse_range(a.jitter, "--jitter")),
                             mtus=tuple(int(m) for m in a.mtu.split(",")))
        self.prefix = f"lab{os.getpid()}"
        self.lab = Lab(self.prefix)
        self.procs = Procs()
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.index = 0
        self.port = 20000
        self.sessions = []
        self.hosts = services.hosts_file()
        self.deadline = None

    # --- shared counters and helpers for sessions
    def next_index(self):
        with self.lock:
            self.index += 1
            return self.index

    def next_port(self):
        with self.lock:
            self.port += 1
            return self.port

    def remaining(self):
        return max(0.0, self.deadline - time.monotonic()) if self.deadline else 3600.0

    def conversation(self, rng, rate):
        """The two sides of one of the run's conversations at RATE Hz."""
        return self.conversations[rate][rng.randrange(len(self.conversations[rate]))]

    # --- preparation
    def prepare(self):
        os.makedirs(self.run_dir, exist_ok=True)
        self.corpus = "/usr/share/debian-reference/ch01.en.html"
        self.corpus_lines = speech.sentences(self.corpus)
        self.conversations = {}
        if "VoIP" in self.classes:
            for rate in (48000, 8000):
                self.conversations[rate] = [
                    speech.conversation(random.Random(f"{self.seed}-conv-{k}"), self.corpus_lines,
                                        os.path.join(self.run_dir, "speech", f"{k}-{rate}"), 240, rate)
                    for k in range(6)]
        self.pki = Pki(os.path.join(self.run_dir, "pki"))
        self.servers = services.Servers(self.lab, self.pki, self.run_dir, self.procs)
        self.servers.make_certs()
        self.root_ca = self.pki.root
        self.nss_home = os.path.join(self.run_dir, "nss-home")
        self.pki.nssdb(self.nss_home)
        self.site_roots = media.site_roots()
        need_video = "Video" in self.classes
        titles = media.draw_titles(self.rng, self.a.titles if need_video else 0,
                                   parse_range(self.a.title_seconds, "--title-seconds"))
        self.titles = []
        for t in titles:
            start = time.monotonic()
            key = media.encode_title(t, CACHE)
            say(f"title {key}: {t['source'].split('=')[0]}, {len(t['ladder'])} renditions, "
                f"{t['seconds']} s ({time.monotonic() - start:.0f} s)")
            self.titles.append(dict(t, key=key))
        self.media_dir = media.media_tree(self.run_dir, CACHE, [t["key"] for t in self.titles],
                                          os.path.join(TOOLS_DIR, "web"))
        self.files_dir, self.files = media.make_files(self.run_dir, self.rng, self.a.files, self.a.max_file_mb)

    def start_lab(self):
        addrs = [v[0] for v in services.SERVICES.values()]
        emu = os.path.join(self.run_dir, "pathemu")
        subprocess.run(["cc", "-O2", "-Wall", "-Wextra", "-Werror", "-o", emu,
                        os.path.join(TOOLS_DIR, "pathemu.c"), "-lm"], check=True)
        self.lab.up(addrs, emu, self.seed, os.path.join(self.run_dir, "log", "pathemu.log"))
        self.servers.start(self.media_dir, self.site_roots, self.files_dir)

        def listening():
            out = ns_exec(self.lab.server, "ss", "-ltnH")
            return all(f"{services.addr(k)}:{p}" in out for k, p in
                       (("hls_edge_h2", 443), ("ssh", 22), ("ftps", 21), ("xmpp", 5222), ("irc", 6697)))
        wait_for(listening, 30, "the servers")
        cap = os.path.join(self.run_dir, "capture.pcap")
        self.tcpdump = self.procs.spawn("tcpdump", self.lab.server,
                                        ["nice", "-n", "-10", "tcpdump", "-i", "s0", "-s", "0", "-B", "65536", "-Z", "root",
                                         "-C", str(self.a.capture_mb), "-w", cap],
                                        log=os.path.join(self.run_dir, "log", "tcpdump.log"))
        wait_for(lambda: os.path.exists(cap), 10, "tcpdump")
        time.sleep(0.5)
        if self.a.agent:
            self.agent = self.procs.spawn("agent", self.lab.router, ["sh", "-c", self.a.agent],
                                          log=os.path.join(self.run_dir, "log", "agent.log"))
            time.sleep(self.a.agent_settle)
            if self.agent.poll() is not None:
                raise RuntimeError(f"lab: the agent exited at once (see {self.run_dir}/log/agent.log)")

    # --- sessions
    def session_thread(self, sess, fn):
        try:
            fn(sess)
        except Exception:
            with open(sess.log, "a") as f:
                f.write(traceback.format_exc())
            sess.failed = True
            self.stopping.wait(5)    # a failing application does not spin
        finally:
            try:
                sess.close()
            except Exception:
                with open(sess.log, "a") as f:
                    f.write(traceback.format_exc())

    def schedule(self):
        apps = {c: [a for a in CLASSES[c] if not self.a.apps or a in self.a.apps] for c in self.classes}
        apps = {c: v for c, v in apps.items() if v}
        started = {a: 0 for v in apps.values() for a in v}
        slots = {c: max(len(v), round(self.a.parallel * CLASS_WEIGHT[c])) for c, v in apps.items()}
        say(f"classes and sessions side by side: {slots}")
        live = {c: [] for c in apps}
        sid = 0
        self.deadline = time.monotonic() + self.a.minutes * 60
        while not self.stopping.is_set() and self.remaining() > 40:
            started_one = False
            # one session per class in turn, so every class starts at once
            for c in apps:
                live[c] = [t for t in live[c] if t.is_alive()]
                if len(live[c]) >= slots[c] or self.remaining() <= 40:
                    continue
                # the application of the class that has run least, ties drawn
                share = {a: started[a] / APP_WEIGHT.get(a, 1.0) for a in apps[c]}
                least = min(share.values())
                app = self.rng.choice(sorted(a for a in apps[c] if share[a] == least))
                started[app] += 1
                sid += 1
                sess = Session(self, sid, c, app, random.Random(f"{self.seed}-{sid}"))
                sess.failed = False
                self.sessions.append(sess)
                t = threading.Thread(target=self.session_thread, args=(sess, CLASSES[c][app]), daemon=True)
                t.start()
                live[c].append(t)
                started_one = True
                # starts spread out, not in lockstep
                self.stopping.wait(self.rng.uniform(0.1, 0.8))
            if not started_one:
                self.stopping.wait(1.0)
        say("run time is up: ending the sessions")
        self.stopping.set()
        for c in live:
            for t in live[c]:
                t.join(90)

    def stop_lab(self):
        if getattr(self, "agent", None) is not None:
            Procs.stop(self.agent, sig=signal.SIGINT, grace=15)
        if getattr(self, "tcpdump", None) is not None:
            Procs.stop(self.tcpdump, sig=signal.SIGINT, grace=10)
        self.procs.stop_all()
        if self.lab.emu is not None:
            Procs.stop(self.lab.emu)
        teardown(self.prefix)

    def write_labels(self):
        endpoints = {}
        sessions = []
        for s in self.sessions:
            rec = {"session": s.sid, "class": s.cls, "app": s.app,
                   "scenario": "".join("+" if ch in ',"\n\r' else ch for ch in s.scenario),
                   "failed": s.failed, "start": s.started, "end": s.ended,
                   "endpoints": [{"index": e.index, "addr": e.addr, "path": e.path.columns()} for e in s.endpoints]}
            sessions.append(rec)
            for e in rec["endpoints"]:
                endpoints[e["addr"]] = (rec, e)
        with open(os.path.join(self.run_dir, "sessions.json"), "w") as f:
            json.dump(sessions, f, indent=1)
        caps = sorted((os.path.join(self.run_dir, f) for f in os.listdir(self.run_dir)
                       if f.startswith("capture.pcap")), key=lambda p: (len(p), p))
        rows, unlabelled = labels.write(self.run_dir, caps, endpoints, self.seed)
        return rows, unlabelled, sessions


def summary(rows, unlabelled, sessions):
    by = {}
    for r in rows:
        k = (r["class"], r["app"])
        d = by.setdefault(k, [0, 0, 0])
        d[0] += 1
        d[1] += (r["packets_up"] >= 20) + (r["packets_down"] >= 20)
    ses = {}
    for s in sessions:
        d = ses.setdefault((s["class"], s["app"]), [0, 0])
        d[0] += 1
        d[1] += s["failed"]
    print(f"{'class':<14} {'app':<16} {'sessions':>8} {'failed':>6} {'conns':>7} {'dirs>=20':>8}")
    tot = {}
    for k in sorted(set(by) | set(ses)):
        c, n20 = by.get(k, [0, 0, 0])[0], by.get(k, [0, 0, 0])[1]
        sn, sf = ses.get(k, [0, 0])
        print(f"{k[0]:<14} {k[1]:<16} {sn:>8} {sf:>6} {c:>7} {n20:>8}")
        tot[k[0]] = tot.get(k[0], 0) + n20
    for c, n in sorted(tot.items()):
        print(f"{'total':<14} {c:<16} {'':>8} {'':>6} {'':>7} {n:>8}")
    print(f"connections with no lab client (left out of labels.csv): {unlabelled}")


def main():
    p = argparse.ArgumentParser(prog="tools/lab/run.sh", description=__doc__)
    p.add_argument("--out", help="folder for the captures and labels.csv")
    p.add_argument("--seed", type=int)
    p.add_argument("--minutes", type=float, default=10)
    p.add_argument("--classes", default="", help="comma-separated classes (default: all)")
    p.add_argument("--apps", default="", help="comma-separated applications (default: all)")
    p.add_argument("--parallel", type=float, default=4, help="sessions side by side per class, scaled by class")
    p.add_argument("--rtt", default="2-200", help="round-trip time range, ms")
    p.add_argument("--jitter", default="0-25", help="jitter range, percent of each way's delay")
    p.add_argument("--loss", default="0-2", help="loss range per direction, percent")
    p.add_argument("--rate", default="1-1000", help="downlink rate range, Mbit/s")
    p.add_argument("--mtu", default="1500,1400", help="MTUs to draw from")
    p.add_argument("--titles", type=int, default=4, help="video titles to encode")
    p.add_argument("--title-seconds", default="60-150", help="video titles' length range, s")
    p.add_argument("--files", type=int, default=24, help="files in the transfer pool")
    p.add_argument("--max-file-mb", type=float, default=64)
    p.add_argument("--capture-mb", type=int, default=2000, help="capture files rotate at this size")
    p.add_argument("--agent", default="", help="a command run in the router namespace for the whole run "
                   "(its link is r0): tools/lab/live_check.sh starts odeflow run this way")
    p.add_argument("--agent-settle", type=float, default=3.0)
    p.add_argument("--list", action="store_true", help="list the classes and applications and exit")
    a = p.parse_args()
    if a.list:
        for c, apps in CLASSES.items():
            print(c, " ".join(apps))
        return 0
    if not a.out or a.seed is None:
        p.error("--out and --seed are required")
    if os.geteuid() != 0:
        print("lab: needs root (network namespaces)", file=sys.stderr)
        return 1
    a.classes = [c for c in a.classes.split(",") if c] or list(CLASSES)
    a.apps = [x for x in a.apps.split(",") if x]
    for c in a.classes:
        if c not in CLASSES:
            print(f"lab: unknown class {c} (known: {' '.join(CLASSES)})", file=sys.stderr)
            return 1
    known = {x for v in CLASSES.values() for x in v}
    for x in a.apps:
        if x not in known:
            print(f"lab: unknown application {x} (known: {' '.join(sorted(known))})", file=sys.stderr)
            return 1
    run = Run(a)
    run.classes = a.classes
    # the watchdog removes everything should this process die without doing so
    # (SIGKILL), and ends it if it overruns its time by far
    limit = int(a.minutes * 60 + 900)
    subprocess.Popen(["/usr/bin/python3", os.path.join(TOOLS_DIR, "watchdog.py"), run.prefix, str(os.getpid()),
                      str(limit)], start_new_session=True, stdin=subprocess.DEVNULL)

    def on_signal(signum, frame):
        run.stopping.set()
        raise KeyboardInterrupt
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    rc = 0
    try:
        run.prepare()
        run.start_lab()
        say(f"running {a.minutes:g} min, namespaces {run.prefix}-*, capture on s0")
        run.schedule()
    except KeyboardInterrupt:
        say("interrupted: stopping everything")
        rc = 130
    except Exception as e:
        say(str(e))
        rc = 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        run.stopping.set()
        run.stop_lab()
    if rc == 0 or run.sessions:
        rows, unlabelled, sessions = run.write_labels()
        summary(rows, unlabelled, sessions)
    return rc


if __name__ == "__main__":
    sys.exit(main())
