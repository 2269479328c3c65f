#!/usr/bin/env bash
# Makes a capture safe to replay between the test namespaces: IPv6 dropped
# (tcprewrite would leave its addresses as they are) and every IPv4 address
# rewritten into 10.200.0.0/16, checksums fixed. Nothing replayed from the
# result is addressed outside the test range. Bounded in time.
#   tools/rewrite_capture.sh IN.pcap OUT.pcap
set -euo pipefail
in=${1:?usage: rewrite_capture.sh IN.pcap OUT.pcap} out=${2:?usage: rewrite_capture.sh IN.pcap OUT.pcap}
v4=$(mktemp "${TMPDIR:-/tmp}/odeflow-v4-XXXXXX.pcap")
trap 'rm -f "$v4"' EXIT
timeout 30 tcpdump -r "$in" -w "$v4" 'not ip6' 2>/dev/null
timeout 30 tcprewrite --pnat=0.0.0.0/0:10.200.0.0/16 --fixcsum -i "$v4" -o "$out"
