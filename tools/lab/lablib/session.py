"""One session: an application's clients, each in a namespace of its own
behind its own access link, and the server-side processes it needs. Every
process it starts is bounded in time and ends with the session."""
import os
import shutil
import subprocess
import time

from .paths import draw_path
from .procs import Procs

PY = "/usr/bin/python3"   # Debian's, with Debian's aiortc, slixmpp, irc, selenium


class Endpoint:
    def __init__(self, index, ns, addr, path):
        self.index, self.ns, self.addr, self.path = index, ns, addr, path


class Session:
    def __init__(self, ctx, sid, cls, app, rng):
        self.ctx, self.sid, self.cls, self.app, self.rng = ctx, sid, cls, app, rng
        self.scenario = app
        self.endpoints = []
        self.procs = []
        self.dir = os.path.join(ctx.run_dir, "sessions", str(sid))
        os.makedirs(self.dir, exist_ok=True)
        self.log = os.path.join(self.dir, "log")
        self.started = time.time()
        self.ended = None

    # --- places
    def endpoint(self):
        index = self.ctx.next_index()
        path = draw_path(self.rng, self.ctx.ranges)
        ns, addr = self.ctx.lab.session_up(index, path, self.ctx.hosts)
        ep = Endpoint(index, ns, addr, path)
        self.endpoints.append(ep)
        return ep

    def tool(self, name):
        return os.path.join(self.ctx.tools_dir, "clients", name)

    def seconds(self, lo, hi):
        """A duration from LO to HI seconds (log-uniform) that ends before the run does."""
        import math
        d = math.exp(self.rng.uniform(math.log(lo), math.log(hi)))
        return max(5.0, min(d, self.ctx.remaining() - 10))

    # --- processes
    def _popen(self, ns, argv, env):
        e = dict(os.environ)
        e.update(env or {})
        out = open(self.log, "ab")
        p = subprocess.Popen(["ip", "netns", "exec", ns, *argv], stdout=out, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, start_new_session=True, env=e,
                             cwd=os.path.join(self.ctx.tools_dir, "clients"))
        out.close()
        self.procs.append(p)
        return p

    def spawn(self, ep, argv, env=None):
        return self._popen(ep.ns, argv, env)

    def spawn_server(self, argv, env=None):
        return self._popen(self.ctx.lab.server, argv, env)

    def wait(self, procs, timeout):
        """Waits for PROCS at most TIMEOUT seconds (less if the run ends); ends the rest."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self.ctx.stopping.is_set():
            if all(p.poll() is not None for p in procs):
                break
            time.sleep(0.3)
        for p in procs:
            Procs.stop(p)
        return [p.returncode for p in procs]

    def run(self, ep, argv, timeout, env=None):
        return self.wait([self.spawn(ep, argv, env)], timeout)[0]

    def pause(self, seconds):
        self.ctx.stopping.wait(max(0.0, min(seconds, self.ctx.remaining())))

    def close(self):
        for p in self.procs:
            Procs.stop(p, grace=2.0)
        for ep in self.endpoints:
            self.ctx.lab.session_down(ep.index)
        self.ended = time.time()
        shutil.rmtree(os.path.join(self.dir, "tmp"), ignore_errors=True)

    def tmp(self, *parts):
        d = os.path.join(self.dir, "tmp", *parts)
        os.makedirs(d, exist_ok=True)
        return d
