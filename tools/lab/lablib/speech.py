"""What the callers say: conversations synthesised by espeak-ng from the
documentation's text, one WAV per side. When one side speaks the other is
silent, as in a call, so a codec's frames grow and shrink with the turns."""
import os
import re
import subprocess

VOICES = ["en-us", "en-gb", "en-gb-scotland", "en-029", "en-gb-x-rp", "de", "fr", "es", "it", "nl"]


def sentences(corpus):
    with open(corpus, errors="ignore") as f:
        text = re.sub(r"<[^>]*>", " ", f.read())
    return [s.strip() for s in re.split(r"[.!?]\s", text) if 20 < len(s.strip()) < 300]


def _utterance(text, voice, speed, pitch, rate, path):
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", path + ".raw.wav", text],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    subprocess.run(["sox", path + ".raw.wav", "-r", str(rate), "-c", "1", "-b", "16", path],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.unlink(path + ".raw.wav")


def conversation(rng, corpus_lines, d, seconds, rate):
    """Writes D/a.wav and D/b.wav, about SECONDS long at RATE Hz; returns their paths."""
    os.makedirs(d, exist_ok=True)
    a, b = os.path.join(d, "a.wav"), os.path.join(d, "b.wav")
    if os.path.exists(a) and os.path.exists(b):
        return a, b
    who = [(rng.choice(VOICES), rng.randint(130, 200), rng.randint(30, 70)) for _ in range(2)]
    parts = {0: [], 1: []}
    total, i = 0.0, 0
    speaker = rng.randrange(2)
    tries = 0
    while total < seconds:
        tries += 1
        if tries > 1000:
            raise RuntimeError("lab: espeak-ng and sox made no speech")
        text = " ".join(rng.choice(corpus_lines) for _ in range(rng.randint(1, 3)))
        u = os.path.join(d, f"u{i}.wav")
        i += 1
        try:
            _utterance(text, *who[speaker], rate, u)
            dur = float(subprocess.run(["soxi", "-D", u], capture_output=True, text=True, check=True).stdout)
        except (subprocess.CalledProcessError, ValueError):
            continue   # a sentence espeak-ng says nothing of: another one
        if dur <= 0:
            continue
        pause = rng.uniform(0.2, 1.5)
        parts[speaker] += [u, ("silence", pause)]
        parts[1 - speaker] += [("silence", dur + pause)]
        total += dur + pause
        if rng.random() < 0.7:
            speaker = 1 - speaker
    for side, out in ((0, a), (1, b)):
        files = []
        for j, p in enumerate(parts[side]):
            if isinstance(p, tuple):
                s = os.path.join(d, f"s{side}-{j}.wav")
                subprocess.run(["sox", "-n", "-r", str(rate), "-c", "1", "-b", "16", s, "trim", "0", f"{p[1]:.3f}"],
                               check=True)
                files.append(s)
            else:
                files.append(p)
        subprocess.run(["sox", *files, out], check=True)
    for f in os.listdir(d):
        if f not in ("a.wav", "b.wav"):
            os.unlink(os.path.join(d, f))
    return a, b
