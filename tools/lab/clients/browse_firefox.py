#!/usr/bin/python3
"""Headless Firefox ESR driven through its own remote protocol, Marionette
(Debian has no geckodriver for Selenium), through the lab's web sites for
SECONDS: see browse_behaviour.py.

  browse_firefox.py PROFILE_DIR SECONDS SEED THINK START_URL..."""
import json
import os
import socket
import subprocess
import sys
import time

from browse_behaviour import LINKS_JS, Reader

PORT = 2828   # on the session namespace's own loopback

PREFS = {
    "marionette.port": PORT,
    "app.update.enabled": False, "app.update.auto": False,
    "browser.shell.checkDefaultBrowser": False,
    "browser.startup.homepage_override.mstone": "ignore",
    "datareporting.policy.dataSubmissionEnabled": False,
    "toolkit.telemetry.enabled": False,
    "browser.safebrowsing.malware.enabled": False, "browser.safebrowsing.phishing.enabled": False,
    "extensions.update.enabled": False, "network.captive-portal-service.enabled": False,
    "network.connectivity-service.enabled": False, "browser.newtabpage.enabled": False,
    "services.settings.server": "https://settings.invalid/",
}


class Marionette:
    def __init__(self):
        deadline = time.monotonic() + 60
        while True:
            try:
                # a loaded machine can take minutes to start a session
                self.s = socket.create_connection(("127.0.0.1", PORT), timeout=300)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
        self.buf = b""
        self.id = 0
        self._read()   # the greeting

    def _read(self):
        while b":" not in self.buf:
            self.buf += self.s.recv(65536)
        n, _, rest = self.buf.partition(b":")
        n = int(n)
        while len(rest) < n:
            rest += self.s.recv(65536)
        self.buf = rest[n:]
        return json.loads(rest[:n])

    def call(self, name, params=None):
        self.id += 1
        body = json.dumps([0, self.id, name, params or {}]).encode()
        self.s.sendall(str(len(body)).encode() + b":" + body)
        while True:
            msg = self._read()
            if msg[0] == 1 and msg[1] == self.id:
                if msg[2]:
                    raise RuntimeError(f"{name}: {msg[2]}")
                return msg[3]


def main():
    profile, seconds, seed, think = sys.argv[1:5]
    reader = Reader(int(seed), sys.argv[5:], float(think))
    with open(os.path.join(profile, "user.js"), "w") as f:
        for k, v in PREFS.items():
            f.write(f"user_pref({json.dumps(k)}, {json.dumps(v)});\n")
    ff = subprocess.Popen(["firefox-esr", "--headless", "--marionette", "--no-remote", "--profile", profile],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        m = Marionette()
        m.call("WebDriver:NewSession", {"capabilities": {"alwaysMatch": {"pageLoadStrategy": "normal",
                                                                          "timeouts": {"pageLoad": 60000}}}})
        end = time.monotonic() + float(seconds)
        url = reader.starts[0]
        while time.monotonic() < end:
            try:
                m.call("WebDriver:Navigate", {"url": url})
                links = m.call("WebDriver:ExecuteScript", {"script": LINKS_JS, "args": []})["value"]
            except (RuntimeError, KeyError, TypeError):
                links = []
            time.sleep(min(reader.think(), max(0.0, end - time.monotonic())))
            url = reader.next_url(links, url)
        try:
            m.call("Marionette:Quit")
        except (RuntimeError, OSError):
            pass
    finally:
        try:
            ff.wait(10)
        except subprocess.TimeoutExpired:
            ff.kill()


if __name__ == "__main__":
    main()
