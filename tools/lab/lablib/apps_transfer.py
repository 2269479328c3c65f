"""File_Transfer: scp, sftp and rsync over OpenSSH, FTPS (vsftpd and lftp),
HTTPS downloads and uploads (nginx and curl). Sizes, directions, ciphers
and trees vary per session; a transfer that outlasts its time is cut off,
as a user gives up on it."""
import os

from . import services

CIPHERS = ["chacha20-poly1305@openssh.com", "aes128-gcm@openssh.com", "aes256-gcm@openssh.com",
           "aes128-ctr", "aes256-ctr"]
TREES = ["/usr/share/doc/python3/html/library", "/usr/share/doc/python3/html/howto",
         "/usr/share/debian-reference", "/usr/share/doc/debian-handbook/html/en-US",
         "/usr/share/doc/python3/html/_images", "/usr/share/doc/python3/html/c-api"]


def _pick_file(s, ep):
    """A file of the pool that the path can move in a minute or two, mostly."""
    rate = min(ep.path.rate_down_kbit, ep.path.rate_up_kbit * 4) * 1000 / 8
    fitting = [f for f in s.ctx.files if f[1] < rate * s.rng.uniform(10, 120)] or [min(s.ctx.files, key=lambda f: f[1])]
    return s.rng.choice(fitting)


def _ssh_opts(s):
    srv = s.ctx.servers
    return ["-i", srv.ssh_client_key, "-o", f"UserKnownHostsFile={srv.ssh_known_hosts}",
            "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-o", "ConnectTimeout=30",
            "-c", s.rng.choice(CIPHERS)] + (["-C"] if s.rng.random() < 0.2 else [])


def _transfers(s):
    return s.rng.choice([1, 1, 2, 3])


def scp(s):
    ep = s.endpoint()
    host = services.name("ssh")
    steps = []
    for _ in range(_transfers(s)):
        name, size = _pick_file(s, ep)
        up = s.rng.random() < 0.4
        local = os.path.join(s.ctx.files_dir, name) if up else os.path.join(s.tmp(), name)
        remote = (f"root@{host}:{s.ctx.servers.ssh_root}/{s.sid}-{name}" if up
                  else f"root@{host}:{s.ctx.files_dir}/{name}")
        argv = ["scp", "-q", *_ssh_opts(s), *((local, remote) if up else (remote, local))]
        s.run(ep, argv, 150)
        steps.append(f"{'up' if up else 'down'}/{size // 1024}K")
        s.pause(s.rng.uniform(1, 15))
    s.scenario = "scp " + " ".join(steps)


def sftp(s):
    ep = s.endpoint()
    batch = ["-ls", f"cd {s.ctx.files_dir}", "-ls -l"]
    steps = []
    for _ in range(_transfers(s)):
        name, size = _pick_file(s, ep)
        if s.rng.random() < 0.4:
            batch.append(f"put {os.path.join(s.ctx.files_dir, name)} {s.ctx.servers.ssh_root}/{s.sid}-{name}")
            steps.append(f"put/{size // 1024}K")
        else:
            batch.append(f"get {name} {os.path.join(s.tmp(), name)}")
            steps.append(f"get/{size // 1024}K")
    bf = os.path.join(s.tmp(), "batch")
    with open(bf, "w") as f:
        f.write("\n".join(batch) + "\nbye\n")
    opts = [o for o in _ssh_opts(s) if o != "-C"]
    s.run(ep, ["sftp", "-q", "-b", bf, *[("-c" if o == "-c" else o) for o in opts], f"root@{services.name('ssh')}"], 200)
    s.scenario = "sftp " + " ".join(steps)


def rsync(s):
    ep = s.endpoint()
    ssh = "ssh " + " ".join(_ssh_opts(s))
    if s.rng.random() < 0.6:
        src = s.rng.choice([t for t in TREES if os.path.isdir(t)])
        what = f"tree {os.path.basename(src)}"
    else:
        name, size = _pick_file(s, ep)
        src = os.path.join(s.ctx.files_dir, name)
        what = f"file {size // 1024}K"
    up = s.rng.random() < 0.5
    flags = ["-a"] + (["-z"] if s.rng.random() < 0.3 else [])
    host = services.name("ssh")
    if up:
        argv = ["rsync", *flags, "-e", ssh, src, f"root@{host}:{s.ctx.servers.ssh_root}/{s.sid}/"]
    else:
        argv = ["rsync", *flags, "-e", ssh, f"root@{host}:{src}", s.tmp("rsync") + "/"]
    s.run(ep, argv, 200)
    s.scenario = f"rsync {'up' if up else 'down'} {what}{' -z' if '-z' in flags else ''}"


def ftps(s):
    ep = s.endpoint()
    cmds = [f"set ssl:ca-file {s.ctx.root_ca}", "set ftp:ssl-force true", "set ftp:ssl-protect-data true",
            "set ftp:passive-mode true", "set net:max-retries 2", "set net:timeout 30",
            f"open -u anonymous,lab@example.org ftp://{services.name('ftps')}", "cls -l pub"]
    steps = []
    for _ in range(_transfers(s)):
        name, size = _pick_file(s, ep)
        if s.rng.random() < 0.4:
            cmds.append(f"put {os.path.join(s.ctx.files_dir, name)} -o upload/{s.sid}-{name}")
            steps.append(f"put/{size // 1024}K")
        else:
            cmds.append(f"get pub/{name} -o {os.path.join(s.tmp(), name)}")
            steps.append(f"get/{size // 1024}K")
    s.run(ep, ["lftp", "-c", "; ".join(cmds)], 200)
    s.scenario = "ftps " + " ".join(steps)


def https(s):
    ep = s.endpoint()
    steps = []
    for _ in range(_transfers(s)):
        name, size = _pick_file(s, ep)
        base = ["curl", "-sS", "--cacert", s.ctx.root_ca, "--max-time", "150"]
        if s.rng.random() < 0.4:
            url = f"https://{services.name('upload')}/{s.sid}/{name}"
            s.run(ep, base + ["-T", os.path.join(s.ctx.files_dir, name), url], 160)
            s.run(ep, base + ["-X", "DELETE", url], 30)
            steps.append(f"up/{size // 1024}K")
        else:
            s.run(ep, base + ["-o", os.path.join(s.tmp(), name), f"https://{services.name('download')}/{name}"], 160)
            steps.append(f"down/{size // 1024}K")
        for f in os.listdir(s.tmp()):
            os.unlink(os.path.join(s.tmp(), f))
        s.pause(s.rng.uniform(1, 15))
    s.scenario = "https " + " ".join(steps)


APPS = {"scp": scp, "sftp": sftp, "rsync-ssh": rsync, "ftps-lftp": ftps, "https-curl": https}
