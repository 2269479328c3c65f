# Sourced by the demo and the agent benchmark: two network namespaces of
# their own joined by a veth pair (tx 10.200.0.1 <-> rx 10.200.0.2, and
# fd00:200::1/2), a private bpffs for the pins, and a cleanup that removes all
# of it on every exit. Sets: tx rx dtx drx tmp pin.
netns_up() {
	local tag=$1
	tx=od$tag-tx-$$ rx=od$tag-rx-$$ dtx=o${tag:0:2}t$$ drx=o${tag:0:2}r$$
	tmp=$(mktemp -d "/tmp/odeflow-$tag-XXXXXX")
	trap netns_down EXIT
	trap 'exit 130' INT TERM
	ip netns add "$tx"
	ip netns add "$rx"
	ip link add "$dtx" netns "$tx" type veth peer name "$drx" netns "$rx"
	ip -n "$tx" addr add 10.200.0.1/24 dev "$dtx"
	ip -n "$rx" addr add 10.200.0.2/24 dev "$drx"
	ip -n "$tx" addr add fd00:200::1/64 dev "$dtx" nodad
	ip -n "$rx" addr add fd00:200::2/64 dev "$drx" nodad
	ip -n "$tx" link set "$dtx" up
	ip -n "$rx" link set "$drx" up
	mkdir -p "$tmp/bpf"
	mount -t bpf bpf "$tmp/bpf"
	pin=$tmp/bpf/odeflow
}

netns_down() {
	[ -n "${netns_before_down:-}" ] && $netns_before_down
	ip netns del "$tx" 2>/dev/null || true
	ip netns del "$rx" 2>/dev/null || true
	umount "$tmp/bpf" 2>/dev/null || true
	rm -rf "$tmp"
}

# Rewrites a capture into 10.200.0.0/16 (IPv6 dropped) and replays it from
# tx, bounded in time: nothing replayed is addressed outside the test range.
netns_replay() { # capture tcpreplay-options...
	local capture=$1; shift
	tools/rewrite_capture.sh "$capture" "$tmp/replay.pcap"
	# --foreground: Ctrl-C reaches tcpreplay (timeout otherwise moves it
	# into a process group of its own)
	ip netns exec "$tx" timeout --foreground 60 tcpreplay -q "$@" -i "$dtx" "$tmp/replay.pcap" >/dev/null 2>&1
}
