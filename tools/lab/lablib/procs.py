"""Processes the lab starts: each in a namespace of the lab and in a process
group of its own, so a whole client (a browser and its children) ends with
one signal. The namespaces' teardown ends whatever escaped a group."""
import os
import signal
import subprocess
import time


class Procs:
    def __init__(self):
        self.running = {}

    def spawn(self, name, ns, argv, log=None, env=None, cwd=None):
        out = open(log, "ab") if log else subprocess.DEVNULL
        full_env = dict(os.environ)
        if env:
            full_env.update(env)
        p = subprocess.Popen(["ip", "netns", "exec", ns, *argv], stdout=out, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, start_new_session=True, env=full_env, cwd=cwd)
        if log:
            out.close()
        self.running[p.pid] = (name, p)
        return p

    @staticmethod
    def stop(p, sig=signal.SIGTERM, grace=3.0):
        """Signals P's process group, waits GRACE seconds, then kills it."""
        if p.poll() is None:
            try:
                os.killpg(p.pid, sig)
            except ProcessLookupError:
                pass
            try:
                p.wait(grace)
            except subprocess.TimeoutExpired:
                pass
        # the group may outlive its leader (a browser's children)
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        if p.poll() is None:
            p.wait()

    def stop_all(self):
        for name, p in list(self.running.values()):
            self.stop(p, grace=2.0)
        self.running.clear()

    def forget(self, p):
        self.running.pop(p.pid, None)


def wait_for(check, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise RuntimeError(f"lab: {what} did not come up within {timeout} s")
