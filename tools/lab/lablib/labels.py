"""labels.csv: one row per connection of the captures. The label is known by
construction: a client address belongs to one session's endpoint, and the
session knows its class, application, scenario and path. A connection with
no lab client at either end (none is expected) gets no row and is counted."""
import csv
import ipaddress
import os
import struct

from .topology import is_client_addr

COLUMNS = ["capture", "protocol", "client_addr", "client_port", "server_addr", "server_port",
           "class", "app", "scenario", "seed", "session", "endpoint",
           "rtt_ms", "delay_up_ms", "delay_down_ms", "jitter_up_ms", "jitter_down_ms", "jitter_dist",
           "loss_up_pct", "loss_down_pct", "rate_up_kbit", "rate_down_kbit", "buffer_ms", "mtu",
           "packets_up", "packets_down", "bytes_up", "bytes_down", "first_time", "last_time"]
PROTO = {6: "tcp", 17: "udp"}


def connections(pcap):
    """{(proto, a, ap, b, bp): [packets a->b, packets b->a, bytes..., first, last]} of one capture,
    keyed with the lower (address, port) first."""
    conns = {}
    with open(pcap, "rb") as f:
        head = f.read(24)
        if len(head) < 24:
            return conns
        magic = struct.unpack("<I", head[:4])[0]
        if magic in (0xa1b2c3d4, 0xa1b23c4d):
            e = "<"
        elif magic in (0xd4c3b2a1, 0x4d3cb2a1):
            e = ">"
        else:
            raise RuntimeError(f"lab: {pcap}: not a pcap file")
        nano = magic in (0xa1b23c4d, 0x4d3cb2a1)
        if struct.unpack(e + "I", head[20:24])[0] != 1:
            raise RuntimeError(f"lab: {pcap}: not an Ethernet capture")
        rec = struct.Struct(e + "IIII")
        while True:
            h = f.read(16)
            if len(h) < 16:
                break
            sec, frac, incl, orig = rec.unpack(h)
            pkt = f.read(incl)
            if len(pkt) < 34 or pkt[12:14] != b"\x08\x00":
                continue
            ihl = (pkt[14] & 15) * 4
            proto = pkt[23]
            if proto not in PROTO or struct.unpack(">H", pkt[20:22])[0] & 0x1fff:
                continue
            l4 = 14 + ihl
            if len(pkt) < l4 + 4:
                continue
            src, dst = pkt[26:30], pkt[30:34]
            sp, dp = struct.unpack(">HH", pkt[l4:l4 + 4])
            t = sec + frac / (1e9 if nano else 1e6)
            size = orig - 14
            if (src, sp) <= (dst, dp):
                key, way = (proto, src, sp, dst, dp), 0
            else:
                key, way = (proto, dst, dp, src, sp), 1
            c = conns.get(key)
            if c is None:
                c = conns[key] = [0, 0, 0, 0, t, t]
            c[way] += 1
            c[2 + way] += size
            c[5] = t
    return conns


def write(out_dir, captures, endpoints, seed):
    """ENDPOINTS: {client address: (session record, endpoint record)}. Returns (rows, unlabelled)."""
    rows, unlabelled = [], 0
    for cap in captures:
        for (proto, a, ap, b, bp), (pab, pba, bab, bba, t0, t1) in connections(cap).items():
            a, b = str(ipaddress.IPv4Address(a)), str(ipaddress.IPv4Address(b))
            if is_client_addr(a) and a in endpoints:
                c, cp, sv, sp, up, down, bup, bdown = a, ap, b, bp, pab, pba, bab, bba
            elif is_client_addr(b) and b in endpoints:
                c, cp, sv, sp, up, down, bup, bdown = b, bp, a, ap, pba, pab, bba, bab
            else:
                unlabelled += 1
                continue
            sess, ep = endpoints[c]
            row = {"capture": os.path.basename(cap), "protocol": PROTO[proto],
                   "client_addr": c, "client_port": cp, "server_addr": sv, "server_port": sp,
                   "class": sess["class"], "app": sess["app"], "scenario": sess["scenario"],
                   "seed": seed, "session": sess["session"], "endpoint": ep["index"],
                   "packets_up": up, "packets_down": down, "bytes_up": bup, "bytes_down": bdown,
                   "first_time": f"{t0:.6f}", "last_time": f"{t1:.6f}"}
            row.update(ep["path"])
            rows.append(row)
    rows.sort(key=lambda r: (r["capture"], float(r["first_time"])))
    with open(os.path.join(out_dir, "labels.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    return rows, unlabelled
