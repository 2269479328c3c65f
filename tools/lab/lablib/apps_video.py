"""Video: adaptive streams (HLS and DASH renditions made by ffmpeg) served by
nginx over HTTPS, HTTP/1.1 or HTTP/2, played by mpv with null outputs or by
headless Chromium with hls.js or dash.js, with seeks and quality switches."""
import os
import shutil
from urllib.parse import quote

from . import services
from .session import PY


def _stream(s, fmt):
    title = s.rng.choice(s.ctx.titles)
    edge = f"{fmt}_edge_{s.rng.choice(['h2', 'h2', 'h1'])}"
    doc = "master.m3u8" if fmt == "hls" else "manifest.mpd"
    return title, edge, f"https://{services.name(edge)}/{title['key']}/{doc}"


def _seeks(s, secs, title):
    acts = []
    for _ in range(s.rng.choice([0, 0, 1, 1, 2, 3])):
        acts.append((round(s.rng.uniform(3, max(4, secs - 5)), 1), round(s.rng.uniform(0, title["seconds"] - 10), 1)))
    return acts


def mpv(s):
    ep = s.endpoint()
    fmt = s.rng.choice(["hls", "dash"])
    title, edge, url = _stream(s, fmt)
    secs = s.seconds(30, 180)
    acts = [f"{t}:seek:{p}" for t, p in _seeks(s, secs, title)]
    n = len(title["ladder"])
    if fmt == "hls" and s.rng.random() < 0.5:
        acts.append(f"{round(s.rng.uniform(5, max(6, secs - 5)), 1)}:vid:{s.rng.randint(1, n)}")
    cache = s.rng.choice([10, 30, 60, 120])
    opts = [f"--cache-secs={cache}", f"--demuxer-readahead-secs={cache}",
            f"--hls-bitrate={s.rng.choice(['max', 'min', str(title['ladder'][s.rng.randrange(n)][2] * 1000)])}"]
    sock = os.path.join(s.tmp(), "mpv.sock")
    s.run(ep, [PY, s.tool("mpv_play.py"), url, s.ctx.root_ca, str(secs), sock, ",".join(acts) or "-", *opts],
          secs + 30)
    s.scenario = f"mpv {fmt} {edge[-2:]} {len(acts)} actions {int(secs)}s cache {cache}s"


def chromium_args(profile):
    return ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-dev-shm-usage", f"--user-data-dir={profile}"]


def chromium_home(s):
    """A HOME whose NSS database trusts the lab's root (Chromium reads ~/.pki/nssdb)."""
    home = s.tmp("home")
    shutil.copytree(s.ctx.nss_home, home, dirs_exist_ok=True)
    return home


def _browser_player(s, fmt):
    ep = s.endpoint()
    title, edge, src = _stream(s, fmt)
    secs = s.seconds(30, 180)
    n = len(title["ladder"])
    seeks = ",".join(f"{t}:{p}" for t, p in _seeks(s, secs, title))
    levels = []
    if s.rng.random() < 0.5:
        for _ in range(s.rng.randint(1, 2)):
            levels.append(f"{round(s.rng.uniform(5, max(6, secs - 5)), 1)}:{s.rng.randint(-1, n - 1)}")
    buf = s.rng.choice([10, 20, 30, 60])
    page = "player.twitch.tv/hls.html" if fmt == "hls" else "www.youtube.com/dash.html"
    url = (f"https://{page}?src={quote(src, safe='')}&seek={seeks}&level={','.join(levels)}&buffer={buf}"
           f"&start={s.rng.randint(-1, n - 1)}")
    home = chromium_home(s)
    s.run(ep, [*chromium_args(os.path.join(s.tmp(), "profile")), "--autoplay-policy=no-user-gesture-required",
               "--mute-audio", url], secs, env={"HOME": home})
    s.scenario = f"{fmt}.js {edge[-2:]} {len(seeks.split(',')) if seeks else 0} seeks {len(levels)} switches {int(secs)}s buffer {buf}s"


def hlsjs(s):
    _browser_player(s, "hls")


def dashjs(s):
    _browser_player(s, "dash")


APPS = {"mpv": mpv, "hlsjs-chromium": hlsjs, "dashjs-chromium": dashjs}
