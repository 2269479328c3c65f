#!/usr/bin/env bash
# The traffic lab (tools/lab), short: every application once in a run of a
# few minutes with a seed drawn at random, then:
#  - every application has labelled connections with a direction of 20+
#    packets, and pcap2npy --labels makes windows of each (app column);
#  - labels.csv and the capture agree connection for connection, packet
#    counts included (tcpdump reads the capture on its own);
#  - each row's class is its application's;
#  - nothing of the run is left: namespaces, their /etc/netns files,
#    processes;
#  - Ctrl-C (SIGINT) during a run and SIGKILL of the run (the watchdog's
#    case) leave nothing either.
# Usage: tests/live/test_lab.sh BUILD_DIR
set -uo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP test_lab: needs root (network namespaces)"; exit 0
fi
tmp=$(mktemp -d /tmp/odeflow-test-lab-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
seed=$(( (RANDOM << 15 | RANDOM) % 1000000 ))
pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; }

# the namespaces, /etc/netns entries and processes a run named PREFIX left
leftovers() { # prefix dir
	{
		ip netns list | awk '{print $1}' | grep "^$1-" | sed 's/^/namespace /'
		ls /etc/netns 2>/dev/null | grep "^$1-" | sed 's/^/etc-netns /'
		pgrep -af -- "$2" | grep -v -e pgrep -e "$$" | sed 's/^/process /'
	} | head -5
}

prefix_of() { sed -n 's/.*namespaces \(lab[0-9]*\)-\*.*/\1/p' "$1" | head -1; }

# --- one short run of every application
out=$tmp/run
start=$SECONDS
tools/lab/run.sh --out "$out" --seed "$seed" --minutes 3 --parallel 0.3 --titles 1 \
	--title-seconds 30-40 --files 6 --max-file-mb 8 > "$tmp/run.log" 2>&1
rc=$?
echo "lab run, seed $seed: exit $rc in $((SECONDS - start)) s"
tail -25 "$tmp/run.log"
if [ $rc -eq 0 ] && [ -s "$out/labels.csv" ]; then
	pass "test_lab_run (seed $seed)"
else
	fail test_lab_run "exit $rc, see above (seed $seed)"
	exit 0
fi
prefix=$(prefix_of "$tmp/run.log")
left=$(leftovers "${prefix:-nonexistent}" "$out")
if [ -n "$prefix" ] && [ -z "$left" ]; then
	pass test_lab_nothing_left
else
	fail test_lab_nothing_left "prefix '${prefix}': $left"
fi

# every application: a connection with a direction of 20+ packets, its class right
apps=$(tools/lab/run.sh --list)
problems=$(/usr/bin/python3 - "$out/labels.csv" "$apps" <<'EOF'
import csv, sys
classes = {}
for line in sys.argv[2].splitlines():
    c, *apps = line.split()
    for a in apps:
        classes[a] = c
long, wrong = {a: 0 for a in classes}, []
for r in csv.DictReader(open(sys.argv[1])):
    if classes.get(r["app"]) != r["class"]:
        wrong.append(f"{r['app']} labelled {r['class']}")
    elif max(int(r["packets_up"]), int(r["packets_down"])) >= 20:
        long[r["app"]] += 1
print("; ".join(wrong[:3] + [f"{a}: no connection of 20+ packets" for a, n in long.items() if not n]))
EOF
)
if [ -z "$problems" ]; then pass test_lab_every_app; else fail test_lab_every_app "$problems"; fi

# labels.csv against the capture as tcpdump reads it: the same connections,
# the same packets each way
problems=$(tcpdump -nn -q -r "$out/capture.pcap" 'ip and (tcp or udp)' 2>/dev/null | /usr/bin/python3 -c '
import collections, csv, sys
seen = collections.Counter()
for line in sys.stdin:
    f = line.split()
    # 12:00:00.000000 IP 10.200.16.3.40000 > 10.200.1.10.443: tcp 0
    if len(f) < 6 or f[1] != "IP":
        continue
    src, dst, proto = f[2], f[4].rstrip(":"), f[5].rstrip(",").lower()
    if proto not in ("tcp", "udp"):
        continue
    sa, sp = src.rsplit(".", 1)
    da, dp = dst.rsplit(".", 1)
    seen[(proto, sa, sp, da, dp)] += 1
rows, bad = 0, []
conns = {(p, min((a, ap), (b, bp)), max((a, ap), (b, bp))) for p, a, ap, b, bp in seen}
for r in csv.DictReader(open(sys.argv[1])):
    if r["capture"] != "capture.pcap":
        continue
    rows += 1
    k = (r["protocol"], r["client_addr"], r["client_port"], r["server_addr"], r["server_port"])
    up = seen.get(k, 0)
    down = seen.get((k[0], k[3], k[4], k[1], k[2]), 0)
    if (up, down) != (int(r["packets_up"]), int(r["packets_down"])):
        bad.append(f"{k}: labels {r[\"packets_up\"]}/{r[\"packets_down\"]}, tcpdump {up}/{down}")
if rows != len(conns):
    bad.append(f"{rows} rows for {len(conns)} connections tcpdump sees")
print("; ".join(bad[:3]))
' "$out/labels.csv")
if [ -z "$problems" ]; then pass test_lab_labels_match_capture; else fail test_lab_labels_match_capture "$problems"; fi

# the data set: pcap2npy --labels makes windows of every application
if "$build/odeflow" pcap2npy --labels "$out/labels.csv" -o "$tmp/ds" "$out"/capture.pcap* \
	> "$tmp/pcap2npy.log" 2>&1; then
	missing=$(for a in $(echo "$apps" | cut -d' ' -f2-); do
		awk -F, -v a="$a" 'NR > 1 && $13 == a { n++ } END { if (!n) print a }' "$tmp/ds_index.csv"
	done | tr '\n' ' ')
	if [ -z "$missing" ]; then pass test_lab_pcap2npy_every_app
	else fail test_lab_pcap2npy_every_app "no windows of: $missing"; fi
else
	fail test_lab_pcap2npy_every_app "$(tail -1 "$tmp/pcap2npy.log")"
fi

# --- interrupted: Ctrl-C, and the run killed outright (the watchdog cleans up)
for how in INT KILL; do
	o=$tmp/stop-$how
	setsid tools/lab/run.sh --out "$o" --seed "$((seed + 1))" --minutes 3 --classes Chat,VoIP \
		--parallel 0.3 --files 2 --max-file-mb 1 > "$tmp/stop-$how.log" 2>&1 &
	pid=$!
	for _ in $(seq 180); do
		grep -q 'sessions side by side' "$tmp/stop-$how.log" && break
		sleep 1
	done
	sleep 15
	kill -"$how" "$pid"
	wait "$pid"
	rc=$?
	prefix=$(prefix_of "$tmp/stop-$how.log")
	for _ in $(seq 60); do   # the watchdog notices within a second or two
		[ -z "$(leftovers "${prefix:-nonexistent}" "$o")" ] && break
		sleep 1
	done
	left=$(leftovers "${prefix:-nonexistent}" "$o")
	if [ -n "$prefix" ] && [ -z "$left" ]; then
		pass "test_lab_stopped_by_SIG$how (exit $rc)"
	else
		fail "test_lab_stopped_by_SIG$how" "prefix '${prefix}': $left"
	fi
done
