#!/usr/bin/python3
"""What nDPI calls each application's connections (the labels check of
tools/lab/README.md): splits a lab run's captures by application (the
client address of each packet names its session), runs
`odeflow pcap2npy --label-ndpi --dry-run` on each part and prints one
markdown table per application: nDPI's protocol, its category, the class the
class map gives, connections.

  ndpi_by_app.py DIR [ODEFLOW]"""
import csv
import os
import struct
import subprocess
import sys
import tempfile


def split(run_dir, out_dir):
    app_of = {}
    with open(os.path.join(run_dir, "labels.csv"), newline="") as f:
        for r in csv.DictReader(f):
            app_of[bytes(int(x) for x in r["client_addr"].split("."))] = r["app"]
    caps = sorted((f for f in os.listdir(run_dir) if f.startswith("capture.pcap")), key=lambda p: (len(p), p))
    outs = {}
    for cap in caps:
        with open(os.path.join(run_dir, cap), "rb") as f:
            head = f.read(24)
            e = "<" if struct.unpack("<I", head[:4])[0] in (0xa1b2c3d4, 0xa1b23c4d) else ">"
            while True:
                h = f.read(16)
                if len(h) < 16:
                    break
                incl = struct.unpack(e + "I", h[8:12])[0]
                pkt = f.read(incl)
                if len(pkt) < 34 or pkt[12:14] != b"\x08\x00":
                    continue
                app = app_of.get(pkt[26:30]) or app_of.get(pkt[30:34])
                if not app:
                    continue
                o = outs.get(app)
                if o is None:
                    o = outs[app] = open(os.path.join(out_dir, f"{app}.pcap"), "wb")
                    o.write(head)
                o.write(h)
                o.write(pkt)
    for o in outs.values():
        o.close()
    return sorted(outs)


def main():
    run_dir = sys.argv[1]
    odeflow = sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(__file__), "../../build/odeflow")
    with tempfile.TemporaryDirectory() as tmp:
        for app in split(run_dir, tmp):
            r = subprocess.run([odeflow, "pcap2npy", "--label-ndpi", "--dry-run", os.path.join(tmp, f"{app}.pcap")],
                               capture_output=True, text=True)
            rows, on = [], False
            for line in r.stdout.splitlines():
                if line.startswith("nDPI protocol"):
                    on = True
                    continue
                if on and line.strip():
                    f = line.split()
                    # protocol category class... connections directions windows
                    rows.append((f[0], f[1], " ".join(f[2:-3]), int(f[-3])))
            total = sum(x[3] for x in rows)
            print(f"\n**{app}** ({total} connections)\n")
            print("| nDPI protocol | category | class (ndpi-classes.txt) | connections |")
            print("| --- | --- | --- | ---: |")
            for p, c, k, n in sorted(rows, key=lambda x: -x[3]):
                print(f"| {p} | {c} | {k} | {n} |")


if __name__ == "__main__":
    main()
