"""Browsing: headless Chromium (Selenium and chromedriver) and headless
Firefox ESR (Marionette) read the lab's HTTPS sites (HTTP/2, TLS 1.3), made
of Debian's HTML documentation, following links with think times."""
import subprocess

from . import services
from .apps_video import chromium_home
from .media import SITES
from .session import PY


def _plan(s):
    keys = [k for k in SITES if k in s.ctx.site_roots]
    s.rng.shuffle(keys)
    chosen = keys[:s.rng.randint(1, len(keys))]
    starts = [f"https://{services.name(k)}/{SITES[k][1]}" for k in chosen]
    return starts, s.seconds(40, 240), round(s.rng.uniform(3, 20), 1)


def chromium(s):
    ep = s.endpoint()
    starts, secs, think = _plan(s)
    home = chromium_home(s)
    s.run(ep, [PY, s.tool("browse_chromium.py"), s.tmp("profile"), str(secs), str(s.rng.randrange(10**9)),
               str(think), *starts], secs + 90, env={"HOME": home})
    s.scenario = f"chromium {len(starts)} sites {int(secs)}s think {think}s"


def firefox(s):
    ep = s.endpoint()
    starts, secs, think = _plan(s)
    profile = s.tmp("profile")
    subprocess.run(["certutil", "-N", "-d", f"sql:{profile}", "--empty-password"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    subprocess.run(["certutil", "-A", "-d", f"sql:{profile}", "-n", "odeflow lab root", "-t", "C,,",
                    "-i", s.ctx.root_ca], check=True)
    s.run(ep, [PY, s.tool("browse_firefox.py"), profile, str(secs), str(s.rng.randrange(10**9)),
               str(think), *starts], secs + 90, env={"HOME": s.tmp("home")})
    s.scenario = f"firefox {len(starts)} sites {int(secs)}s think {think}s"


APPS = {"web-chromium": chromium, "web-firefox": firefox}
