"""What the servers serve: video titles (HLS and DASH renditions made by
ffmpeg), the players' pages, the web sites and the files to transfer.

Titles and files are drawn from the run's seed. Encoded titles are kept in
the cache (CACHE/media/HASH) so a second run of the same seed does not
encode again."""
import hashlib
import json
import os
import shutil
import subprocess

from .paths import log_uniform

# ffmpeg's synthetic sources: their detail and motion differ, and with them
# the encoder's frame sizes (a zoom into a fractal is expensive, bars cheap)
SOURCES = [
    "mandelbrot=s={w}x{h}:r={fps}:maxiter={it}:end_scale=0.01",
    "life=s={w}x{h}:r={fps}:mold=10:ratio=0.{ratio}:death_color=#{col}:life_color=#ffffff",
    "testsrc2=s={w}x{h}:r={fps}",
    "cellauto=s={w}x{h}:r={fps}:rule={rule}",
    "gradients=s={w}x{h}:r={fps}:speed=0.0{ratio}",
    "smptehdbars=s={w}x{h}:r={fps},noise=alls={noise}:allf=t",
]
LADDER = [(426, 240, 400), (640, 360, 800), (854, 480, 1400), (1280, 720, 2800)]


def _run(argv, what):
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"lab: {what}: {r.stderr.strip().splitlines()[-1:]}")


def draw_titles(rng, count, seconds=(60, 150)):
    titles = []
    for i in range(count):
        fps = rng.choice([24, 25, 30, 30, 60])
        src = rng.choice(SOURCES)
        scale = rng.uniform(0.6, 1.7)
        top = rng.choice([3, 4])   # renditions
        titles.append({
            # made at 360p and scaled: the sources are costly at full size
            "source": src.format(w=640, h=360, fps=fps, it=rng.randint(100, 400), ratio=rng.randint(1, 5),
                                 col=f"{rng.randrange(1 << 24):06x}", rule=rng.randint(1, 255),
                                 noise=rng.randint(5, 40)),
            "fps": fps,
            "seconds": rng.randint(int(seconds[0]), int(seconds[1])),
            "segment": rng.choice([2, 4, 6]),
            "ladder": [(w, h, int(k * scale)) for w, h, k in LADDER[:top]],
            "audio_kbit": rng.choice([64, 96, 128, 160]),
            "tone": rng.randint(110, 880),
        })
    return titles


def _key(title):
    return hashlib.sha256(json.dumps(title, sort_keys=True).encode()).hexdigest()[:16]


def encode_title(title, cache):
    """Encodes TITLE once into CACHE/media/KEY (hls/, dash/); returns KEY."""
    key = _key(title)
    d = os.path.join(cache, "media", key)
    if os.path.exists(os.path.join(d, "done")):
        return key
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    n = len(title["ladder"])
    g = title["fps"] * title["segment"]
    splits = "".join(f"[s{i}]" for i in range(n))
    fc = f"[0:v]split={n}{splits};" + ";".join(
        f"[s{i}]scale={w}:{h}[v{i}]" for i, (w, h, _) in enumerate(title["ladder"]))
    # a tone that wanders over noise: the AAC encoder's frame sizes vary
    audio = (f"aevalsrc='0.3*sin(2*PI*{title['tone']}*(1+0.2*sin(0.3*t))*t)"
             f"+0.05*(random(0)-0.5)':s=48000")
    secs = str(title["seconds"])
    argv = ["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-t", secs, "-f", "lavfi", "-i", title["source"],
            "-t", secs, "-f", "lavfi", "-i", audio, "-filter_complex", fc]
    for i, (w, h, kbit) in enumerate(title["ladder"]):
        argv += ["-map", f"[v{i}]", "-map", "1:a", "-c:v", "libx264", "-preset", "superfast",
                 "-profile:v", "high", "-b:v", f"{kbit}k", "-maxrate", f"{int(kbit * 1.5)}k",
                 "-bufsize", f"{kbit * 2}k", "-g", str(g), "-keyint_min", str(g), "-sc_threshold", "0",
                 "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", f"{title['audio_kbit']}k",
                 os.path.join(d, f"r{i}.mp4")]
    _run(argv, "encoding a title")
    # HLS: MPEG-TS segments, one playlist per rendition and a master playlist
    master = ["#EXTM3U", "#EXT-X-VERSION:3"]
    for i, (w, h, kbit) in enumerate(title["ladder"]):
        rd = os.path.join(d, "hls", str(i))
        os.makedirs(rd)
        _run(["ffmpeg", "-nostdin", "-loglevel", "error", "-i", os.path.join(d, f"r{i}.mp4"), "-c", "copy",
              "-f", "hls", "-hls_time", str(title["segment"]), "-hls_playlist_type", "vod",
              "-hls_segment_filename", os.path.join(rd, "seg%04d.ts"), os.path.join(rd, "index.m3u8")],
             "making HLS")
        bw = int((kbit * 1.5 + title["audio_kbit"]) * 1000)
        master += [f'#EXT-X-STREAM-INF:BANDWIDTH={bw},RESOLUTION={w}x{h},CODECS="avc1.640028,mp4a.40.2"',
                   f"{i}/index.m3u8"]
    with open(os.path.join(d, "hls", "master.m3u8"), "w") as f:
        f.write("\n".join(master) + "\n")
    # DASH: fragmented MP4, video renditions in one adaptation set, audio in another
    dd = os.path.join(d, "dash")
    os.makedirs(dd)
    argv = ["ffmpeg", "-nostdin", "-loglevel", "error"]
    for i in range(n):
        argv += ["-i", os.path.join(d, f"r{i}.mp4")]
    for i in range(n):
        argv += ["-map", f"{i}:v"]
    argv += ["-map", "0:a", "-c", "copy", "-f", "dash", "-seg_duration", str(title["segment"]),
             "-use_template", "1", "-use_timeline", "0", "-adaptation_sets", "id=0,streams=v id=1,streams=a",
             os.path.join(dd, "manifest.mpd")]
    _run(argv, "making DASH")
    for i in range(n):
        os.unlink(os.path.join(d, f"r{i}.mp4"))
    with open(os.path.join(d, "title.json"), "w") as f:
        json.dump(title, f)
    open(os.path.join(d, "done"), "w").close()
    return key


def media_tree(run_dir, cache, keys, web_dir):
    """RUN/media: hls/KEY and dash/KEY linked from the cache, the pages, npm's players."""
    m = os.path.join(run_dir, "media")
    for sub in ("hls", "dash", "pages"):
        os.makedirs(os.path.join(m, sub), exist_ok=True)
    for k in keys:
        for sub in ("hls", "dash"):
            os.symlink(os.path.join(cache, "media", k, sub), os.path.join(m, sub, k))
    for page in ("hls.html", "dash.html"):
        shutil.copy(os.path.join(web_dir, page), os.path.join(m, "pages", page))
    npm = os.path.join(cache, "npm", "node_modules")
    if not os.path.isdir(npm):
        raise RuntimeError(f"lab: no players in {npm}: run tools/deps.sh")
    os.symlink(npm, os.path.join(m, "npm"))
    return m


def make_files(run_dir, rng, count, max_mb):
    """Files to download and upload: sizes log-uniform from 16 KB to MAX_MB."""
    d = os.path.join(run_dir, "files")
    os.makedirs(d, exist_ok=True)
    files = []
    for i in range(count):
        size = int(log_uniform(rng, 16 * 1024, max_mb * 1024 * 1024))
        name = f"f{i:03d}-{rng.choice(['iso', 'tar.xz', 'zip', 'mp4', 'pdf', 'deb', 'bin'])}"
        path = os.path.join(d, name)
        with open(path, "wb") as f:   # incompressible, as most big files are
            left = size
            while left:
                n = min(left, 1 << 20)
                f.write(rng.randbytes(n))
                left -= n
        files.append((name, size))
    return d, files


# The third-party resources each site's pages pull (injected by nginx), so a
# page load opens connections to several hosts, as on the web.
THIRD_PARTY = {
    "site_ref": ("fonts", "gtm", "ads"),
    "site_handbook": ("cdnjs", "gtm"),
    "site_python": ("cdnjs", "fonts", "gtm"),
    "site_apache": ("ads", "gtm", "fonts"),
}
_TAGS = {
    "fonts": ('<link rel="stylesheet" href="https://fonts.googleapis.com/css?family=FontAwesome">', ""),
    "cdnjs": ('<script src="https://cdnjs.cloudflare.com/ajax/libs/jquery/3.6.1/jquery.min.js"></script>', ""),
    "gtm": ('<script async src="https://www.googletagmanager.com/gtag/js?id=G-LAB1"></script>', ""),
    "ads": ("", '<img src="https://securepubads.g.doubleclick.net/ad/banner.png" width="300" height="250" alt="">'),
}
# an analytics tag: a hit on load, engagement pings while the page is open
GTAG_JS = """(function () {
  function hit(e) {
    navigator.sendBeacon('https://www.google-analytics.com/g/collect?v=2&tid=G-LAB1&en=' + e +
      '&dl=' + encodeURIComponent(location.href) + '&_p=' + Math.random(),
      'x'.repeat(Math.floor(Math.random() * 600)));
  }
  hit('page_view');
  setInterval(function () { hit('user_engagement'); }, 15000 + Math.random() * 30000);
})();
"""


def third_party_tags(site):
    tags = [_TAGS[t] for t in THIRD_PARTY.get(site, ())]
    return "".join(h for h, _ in tags), "".join(b for _, b in tags)


def third_party_tree(d):
    """D/thirdparty: fonts (Font Awesome), jQuery, the analytics tag, an ad banner, from Debian's files."""
    tp = os.path.join(d, "thirdparty")
    for sub in ("fonts-css", "fonts/s/fa", "cdnjs/ajax/libs/jquery/3.6.1", "gtm", "ads/ad"):
        os.makedirs(os.path.join(tp, sub), exist_ok=True)
    with open(os.path.join(tp, "fonts-css", "css.css"), "w") as f:
        f.write("@font-face { font-family: 'FontAwesome'; font-style: normal; font-weight: 400;\n"
                "  src: url(https://fonts.gstatic.com/s/fa/fontawesome-webfont.woff2) format('woff2'); }\n"
                "h1, h2, h3 { font-family: 'FontAwesome', sans-serif; }\n")
    links = [("/usr/share/fonts-font-awesome/fonts/fontawesome-webfont.woff2", "fonts/s/fa/fontawesome-webfont.woff2"),
             ("/usr/share/javascript/jquery/jquery.min.js", "cdnjs/ajax/libs/jquery/3.6.1/jquery.min.js"),
             ("/usr/share/doc/debian-handbook/html/en-US/images/aptitude.png", "ads/ad/banner.png")]
    for src, dst in links:
        path = os.path.join(tp, dst)
        if os.path.exists(src) and not os.path.exists(path):
            os.symlink(src, path)
    with open(os.path.join(tp, "gtm", "gtag.js"), "w") as f:
        f.write(GTAG_JS)
    return tp


SITES = {
    # service key: (root, start page) from Debian's documentation packages
    "site_ref": ("/usr/share/debian-reference", "index.en.html"),
    "site_handbook": ("/usr/share/doc/debian-handbook/html/en-US", "index.html"),
    "site_python": ("/usr/share/doc/python3/html", "index.html"),
    "site_apache": ("/usr/share/doc/apache2-doc/manual/en", "index.html"),
}


def site_roots():
    roots = {}
    for key, (root, start) in SITES.items():
        if os.path.exists(os.path.join(root, start)):
            roots[key] = os.path.realpath(root)
    return roots
