#!/usr/bin/env bash
# Makes the small real captures of link layers the nDPI captures lack, for
# tests/data/pcaps/:
#  - skype_vlan.pcap: the first 100 packets of skype-conference-call.pcap with
#    an 802.1Q tag added by tcprewrite;
#  - sll2_udp.pcap: UDP over IPv4 and IPv6 between two namespaces this script
#    creates, recorded by tcpdump on "any" (Linux cooked capture v2).
# Needs root; sends only between its own namespaces; cleans up on exit.
#   tools/make_link_captures.sh OUT_DIR
set -euo pipefail
out=${1:?usage: make_link_captures.sh OUT_DIR}
cd "$(dirname "$0")/.."
a=odcap-a-$$ b=odcap-b-$$ tmp=$(mktemp -d)
dump=
cleanup() {
	[ -n "$dump" ] && kill -INT "$dump" 2>/dev/null && wait "$dump" 2>/dev/null
	ip netns del "$a" 2>/dev/null || true
	ip netns del "$b" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

tcpdump -r tests/data/pcaps/skype-conference-call.pcap -c 100 -w "$tmp/head.pcap" 2>/dev/null
tcprewrite --enet-vlan=add --enet-vlan-tag=100 --enet-vlan-pri=0 --enet-vlan-cfi=0 \
	-i "$tmp/head.pcap" -o "$out/skype_vlan.pcap"

ip netns add "$a"; ip netns add "$b"
ip link add va netns "$a" type veth peer name vb netns "$b"
ip -n "$a" addr add 10.200.1.1/24 dev va; ip -n "$a" addr add fd00:200::1/64 dev va nodad
ip -n "$b" addr add 10.200.1.2/24 dev vb; ip -n "$b" addr add fd00:200::2/64 dev vb nodad
ip -n "$a" link set va up; ip -n "$b" link set vb up
ip netns exec "$b" timeout 20 tcpdump -q -i any -w "$out/sll2_udp.pcap" udp 2>/dev/null &
dump=$!
sleep 1.5
# 24 datagrams of growing sizes from one socket of each family, 2 ms apart
# (unconnected sockets: the ICMP port-unreachable replies do not stop them)
ip netns exec "$a" timeout 10 python3 -c '
import socket, time
s4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
for i in range(1, 25):
    s4.sendto(bytes(40 + 50 * i), ("10.200.1.2", 5001))
    s6.sendto(bytes(20 + 30 * i), ("fd00:200::2", 5003))
    time.sleep(0.002)'
sleep 0.5
