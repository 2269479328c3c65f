"""The lab's namespaces and links.

    session ns PFX-cN (one per session; eth0: a TUN device, client address /32)
        |  the session's access link, emulated by pathemu (tools/lab/pathemu.c)
        |  in the router namespace: loss, rate, buffer, delay and jitter,
        |  each way on its own; its MTU on eth0 and on the router's route
    router ns PFX-r  (up0: pathemu's side)  ---- r0 ==== s0 ----  server ns PFX-s
                       the watched link: every session crosses it;
                       captures are taken on s0, the agent attaches to r0

This kernel has no netem (nor fq), hence the emulator (README.md says why).
Addresses are all in 10.200.0.0/16 and never leave the namespaces: the
router has no route but to the sessions and the servers, and no interface
outside. Server names resolve through /etc/netns/NS/hosts.
"""
import ipaddress
import os
import shutil
import subprocess
import threading

LINK_NET = ("10.200.0.1", "10.200.0.2")      # r0, s0
SERVICE_NET = ipaddress.ip_network("10.200.1.0/24")
CLIENT_BASE = "10.200.16.0"
CLIENT_NETS = ["10.200.16.0/20", "10.200.32.0/19", "10.200.64.0/18", "10.200.128.0/17"]
CLIENT_FIRST = int(ipaddress.ip_address(CLIENT_BASE))
CLIENT_LAST = int(ipaddress.ip_address("10.200.255.254"))


def sh(*argv, check=True, quiet=False):
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: {r.stderr.strip() or r.returncode}")
    return r.stdout


def ns_exec(ns, *argv, check=True):
    return sh("ip", "netns", "exec", ns, *argv, check=check)


def offloads_off(ns, dev):
    # Without this the kernel hands 64 KB TCP segments across a veth and the
    # capture would hold packets no wire carries.
    ns_exec(ns, "ethtool", "-K", dev, "tso", "off", "gso", "off", "gro", "off",
            "tx", "off", check=False)


def client_addr(index):
    a = CLIENT_FIRST + 2 * index + 1
    if a > CLIENT_LAST:
        raise RuntimeError("lab: out of client addresses (more than 30000 sessions)")
    return str(ipaddress.ip_address(a))


def is_client_addr(addr):
    a = int(ipaddress.ip_address(addr))
    return CLIENT_FIRST < a <= CLIENT_LAST


class Lab:
    def __init__(self, prefix):
        self.prefix = prefix
        self.router = f"{prefix}-r"
        self.server = f"{prefix}-s"
        self.emu = None
        self.emu_lock = threading.Lock()

    def up(self, service_addrs, pathemu, seed, log):
        r, s = self.router, self.server
        sh("ip", "netns", "add", r)
        sh("ip", "netns", "add", s)
        for ns in (r, s):
            ns_exec(ns, "ip", "link", "set", "lo", "up")
            ns_exec(ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1")
        sh("ip", "link", "add", "r0", "netns", r, "type", "veth", "peer", "name", "s0", "netns", s)
        ns_exec(r, "ip", "addr", "add", f"{LINK_NET[0]}/30", "dev", "r0")
        ns_exec(s, "ip", "addr", "add", f"{LINK_NET[1]}/30", "dev", "s0")
        for a in service_addrs:
            ns_exec(s, "ip", "addr", "add", f"{a}/32", "dev", "s0")
        for ns, dev in ((r, "r0"), (s, "s0")):
            offloads_off(ns, dev)
            ns_exec(ns, "ip", "link", "set", dev, "up")
        ns_exec(r, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        ns_exec(r, "ip", "route", "add", str(SERVICE_NET), "via", LINK_NET[1])
        # every client address is reached through the router; the server
        # namespace has no other interface, so nothing leaves it
        ns_exec(s, "ip", "route", "add", "10.200.0.0/16", "via", LINK_NET[0])
        self._etc(s, hosts=None)
        # the links' timing should not wait for the applications' CPU
        self.emu = subprocess.Popen(["ip", "netns", "exec", r, "nice", "-n", "-10", pathemu, "up0", CLIENT_BASE, str(seed)],
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=open(log, "ab"),
                                    text=True, start_new_session=True)
        if self.emu.stdout.readline().strip() != "ok":
            raise RuntimeError("lab: pathemu did not start")
        ns_exec(r, "ip", "link", "set", "up0", "up")
        for net in CLIENT_NETS:
            ns_exec(r, "ip", "route", "add", net, "dev", "up0")

    def emu_command(self, line):
        with self.emu_lock:
            self.emu.stdin.write(line + "\n")
            self.emu.stdin.flush()
            answer = self.emu.stdout.readline().strip()
        if not answer.startswith("ok"):
            raise RuntimeError(f"lab: pathemu: {line.split()[0]}: {answer or 'no answer'}")
        return answer

    def _etc(self, ns, hosts):
        d = f"/etc/netns/{ns}"
        os.makedirs(d, exist_ok=True)
        if hosts is not None:
            with open(f"{d}/hosts", "w") as f:
                f.write(hosts)
        # no name server: names come from the hosts file only
        with open(f"{d}/resolv.conf", "w") as f:
            f.write("# odeflow lab: names come from /etc/hosts\n")

    def session_up(self, index, path, hosts):
        """Makes session INDEX's namespace and access link; returns (ns, client address)."""
        ns = f"{self.prefix}-c{index}"
        dev = f"t{index}"
        caddr = client_addr(index)
        sh("ip", "netns", "add", ns)
        self._etc(ns, hosts)
        ns_exec(ns, "ip", "link", "set", "lo", "up")
        ns_exec(ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1")
        p = path
        self.emu_command(f"add {index} {caddr} {dev} {p.delay_up_ms} {p.jitter_up_ms} {p.loss_up_pct} "
                         f"{p.rate_up_kbit} {p.delay_down_ms} {p.jitter_down_ms} {p.loss_down_pct} "
                         f"{p.rate_down_kbit} {p.jitter_dist} {p.buffer_ms}")
        ns_exec(self.router, "ip", "link", "set", dev, "netns", ns)
        ns_exec(ns, "ip", "link", "set", dev, "name", "eth0")
        ns_exec(ns, "ip", "link", "set", "eth0", "mtu", str(path.mtu))
        ns_exec(ns, "ip", "addr", "add", f"{caddr}/32", "dev", "eth0")
        ns_exec(ns, "ip", "link", "set", "eth0", "up")
        ns_exec(ns, "ip", "route", "add", "default", "dev", "eth0")
        # the router's route to the session carries the path's MTU: larger
        # packets are fragmented or answered with "fragmentation needed"
        ns_exec(self.router, "ip", "route", "add", f"{caddr}/32", "dev", "up0", "mtu", str(path.mtu))
        return ns, caddr

    def session_down(self, index):
        ns = f"{self.prefix}-c{index}"
        kill_ns_processes(ns)
        try:
            self.emu_command(f"del {index}")
        except (RuntimeError, OSError, ValueError):
            pass
        ns_exec(self.router, "ip", "route", "del", f"{client_addr(index)}/32", check=False)
        sh("ip", "netns", "del", ns, check=False)
        shutil.rmtree(f"/etc/netns/{ns}", ignore_errors=True)


def kill_ns_processes(ns, grace=1.5):
    """Ends every process inside namespace NS: TERM, then KILL."""
    import signal
    import time
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 0.5)):
        pids = [int(p) for p in sh("ip", "netns", "pids", ns, check=False).split()]
        pids = [p for p in pids if p != os.getpid()]
        if not pids:
            return
        for p in pids:
            try:
                os.kill(p, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not sh("ip", "netns", "pids", ns, check=False).split():
                return
            time.sleep(0.1)


def teardown(prefix):
    """Removes every namespace of run PREFIX and what runs in it."""
    names = [l.split()[0] for l in sh("ip", "netns", "list", check=False).splitlines() if l.strip()]
    mine = [n for n in names if n == f"{prefix}-r" or n == f"{prefix}-s" or n.startswith(f"{prefix}-c")]
    for n in mine:
        kill_ns_processes(n)
    for n in mine:
        sh("ip", "netns", "del", n, check=False)
        shutil.rmtree(f"/etc/netns/{n}", ignore_errors=True)
    return mine
