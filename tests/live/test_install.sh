#!/usr/bin/env bash
# make install / uninstall: the file list under a DESTDIR, the installed
# binary run from another folder (its default model from the share dir),
# the systemd unit's command line with only the unit's capabilities on a
# veth (root), and the unit under systemd where systemd runs.
set -uo pipefail
build=${1:-build}
root=$(cd "$(dirname "$0")/../.." && pwd)
T=$(mktemp -d /tmp/odeflow-test-install-XXXXXX)
ns=odeflow-inst-$$
cleanup() { ip netns del "$ns" 2>/dev/null; umount "$T/bpf" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; }
cd "$root"

# A build of its own, so build/ keeps its own share dir.
if ! make -s -j2 BUILD="$T/build" PREFIX=/usr DESTDIR="$T/dest" install >"$T/make.log" 2>&1; then
	cat "$T/make.log"; fail install_file_list "make install failed"; exit 0
fi
want=$(printf '%s\n' etc/odeflow/policy.conf etc/odeflow/odeflow.conf usr/bin/odeflow usr/lib/systemd/system/odeflow@.service \
	usr/share/bash-completion/completions/odeflow \
	$(cd models && ls *.safetensors *.txt reference/*.npy reference/*.json | sed 's|^|usr/share/odeflow/models/|') \
	$("$T/build/odeflow" man --list | awk '{ print "usr/share/man/man" $2 "/" $1 "." $2 }') | sort)
got=$(cd "$T/dest" && find . -type f | sed 's|^\./||' | sort)
unit="$T/dest/usr/lib/systemd/system/odeflow@.service"
if [ "$got" = "$want" ] && grep -q '^ExecStart=/usr/bin/odeflow run --pin-dir /sys/fs/bpf/odeflow-%I --policy /etc/odeflow/policy.conf --config /etc/odeflow/odeflow.conf --config -/etc/odeflow/odeflow-%I.conf --iface %I$' "$unit" &&
   ! grep -q -- '--keep' "$unit" && grep -q '^LogsDirectory=odeflow$' "$unit" &&
   # the installed odeflow.conf: every run option, all commented out
   [ "$(grep -c '^#[a-z]' "$T/dest/etc/odeflow/odeflow.conf")" -ge 20 ] &&
   ! grep -q '^[a-z]' "$T/dest/etc/odeflow/odeflow.conf" &&
   ! grep -q '@[A-Z]*@' "$unit" && [ "$(stat -c %a "$T/dest/usr/bin/odeflow")" = 755 ]; then
	pass install_file_list
else
	fail install_file_list "installed: $(echo $got)"
fi

# man finds the installed pages: odeflow(1) names every command, odeflow-run(8)
# its options.
page=$(MANPATH="$T/dest/usr/share/man" MANPAGER=cat MANWIDTH=80 man odeflow-run 2>&1)
top=$(MANPATH="$T/dest/usr/share/man" MANPAGER=cat MANWIDTH=80 man 1 odeflow 2>&1)
if grep -q 'ODEFLOW-RUN(8)' <<<"$page" && grep -q -- '--iface IF' <<<"$page" &&
   grep -q 'odeflow-stats(1)' <<<"$top"; then
	pass installed_man_pages_render
else
	fail installed_man_pages_render "$(head -5 <<<"$page")"
fi

# The installed completion, in a bash that loads it as bash-completion would:
# commands, a command's options, an option's choices.
comp() { # WORDS... -> the completions of the last word
	bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _odeflow; echo "${COMPREPLY[*]}"' \
		_ "$T/dest/usr/share/bash-completion/completions/odeflow" "$@"
}
if [ "$(comp odeflow ru)" = run ] && [ "$(comp odeflow run --ipfix-t)" = --ipfix-transport ] &&
   [ "$(comp odeflow run --hook '')" = "xdp tcx" ] && [ "$(comp odeflow stats --js)" = --json ] &&
   [ "$(comp odeflow --vers)" = --version ]; then
	pass installed_bash_completion
else
	fail installed_bash_completion "ru: '$(comp odeflow ru)', --hook: '$(comp odeflow run --hook '')'"
fi

echo "# edited" >> "$T/dest/etc/odeflow/policy.conf" # an operator's policy outlives uninstall
make -s BUILD="$T/build" PREFIX=/usr DESTDIR="$T/dest" uninstall >/dev/null 2>&1
left=$(cd "$T/dest" && find . -type f | sed 's|^\./||')
if [ "$left" = etc/odeflow/policy.conf ]; then pass uninstall_removes_what_it_installed
else fail uninstall_removes_what_it_installed "left: $(echo $left)"; fi

# Installed under a real prefix: the binary finds its model there.
prefix="$T/prefix"
if make -s -j2 BUILD="$T/build" PREFIX="$prefix" SYSCONFDIR="$T/etc" install >"$T/make.log" 2>&1 &&
   (cd "$T" && "$prefix/bin/odeflow" --help >/dev/null &&
    "$prefix/bin/odeflow" --version | grep -qx "odeflow $(git -C "$root" describe --always --dirty)" &&
    "$prefix/bin/odeflow" classify "$root/tests/data/pcaps/ftp.pcap" > "$T/classify.jsonl" 2>/dev/null) &&
   [ "$(grep -c '"class":' "$T/classify.jsonl")" -gt 0 ]; then
	pass installed_binary_runs_from_elsewhere
else
	cat "$T/make.log"; fail installed_binary_runs_from_elsewhere "--help or classify failed in $T"
fi

if command -v systemd-analyze >/dev/null; then
	cp "$prefix/lib/systemd/system/odeflow@.service" "$T/odeflow@eth0.service"
	if out=$(systemd-analyze verify "$T/odeflow@eth0.service" 2>&1 | grep -v 'sys-subsystem-net-devices'); [ -z "$out" ]; then
		pass unit_verifies
	else
		fail unit_verifies "$out"
	fi
fi

# The unit's protections, as systemd's own review reads them.
if command -v systemd-analyze >/dev/null; then
	review=$(systemd-analyze security --offline=true "$T/odeflow@eth0.service" 2>&1)
	missing=
	for p in ProtectKernelTunables ProtectKernelLogs ProtectClock RestrictSUIDSGID PrivateDevices \
		 ProtectSystem ProtectHome PrivateTmp MemoryDenyWriteExecute; do
		grep -q "✓ $p=" <<<"$review" || missing="$missing $p"
	done
	grep -q '✓ SystemCallFilter=' <<<"$review" || ! grep -q '✗ SystemCallFilter=' <<<"$review" ||
		missing="$missing SystemCallFilter"
	if [ -z "$missing" ] && grep -q 'Overall exposure level.*OK' <<<"$review"; then
		pass unit_security_review
		grep 'Overall exposure' <<<"$review"
	else
		fail unit_security_review "not applied:$missing; $(grep 'Overall' <<<"$review")"
	fi
fi

# The unit's command on a veth with only the unit's capabilities, reading
# the installed odeflow.conf and an odeflow-IF.conf: a stop detaches (the
# hook is free, the pins gone); with `keep` in odeflow-IF.conf a stop
# leaves the sampler enforcing, the next start takes it over, and
# `odeflow detach` removes it. Its /sys/fs/bpf is a bpffs of this test's
# (ip netns exec mounts a fresh /sys), which, like the host's, outlives the
# process.
if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP unit_command_with_its_capabilities: needs root"
else
	unitfile="$prefix/lib/systemd/system/odeflow@.service"
	caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$unitfile" | tr 'A-Z ' 'a-z\n' | sed 's/^cap_/+/' | paste -sd, -)
	cmd=$(sed -n 's/^ExecStart=//p' "$unitfile" | sed 's/%I/odinst0/g')
	in_ns() { ip netns exec "$ns" sh -c "mount --bind $T/bpf /sys/fs/bpf && cd / && $1"; }
	run_unit() {
		timeout 20 ip netns exec "$ns" sh -c "mount --bind $T/bpf /sys/fs/bpf &&
			cd / && exec setpriv --bounding-set=-all,$caps --inh-caps=-all $cmd" > "$T/unit$1.err" 2>&1 &
		echo $! > "$T/unit.pid"
		for _ in $(seq 50); do grep -q attached "$T/unit$1.err" && return 0; sleep 0.1; done
		return 1
	}
	stop_unit() { kill -TERM "$(cat "$T/unit.pid")" 2>/dev/null; wait "$(cat "$T/unit.pid")" 2>/dev/null; }
	attached() { ip -n "$ns" link show odinst0 | grep -q xdp; }
	ok=1 why=
	step() { [ $ok = 1 ] || return; "$@" || { ok=0; why="$*"; }; }
	mkdir -p "$T/bpf" && mount -t bpf bpf "$T/bpf" && ip netns add "$ns" && ip -n "$ns" link add odinst0 type veth peer name odinst1 &&
		ip -n "$ns" link set odinst0 up && ip -n "$ns" link set odinst1 up && ip -n "$ns" link set lo up || ok=0
	printf 'metrics 127.0.0.1:9478   # this instance'"'"'s port\n' > "$T/etc/odeflow/odeflow-odinst0.conf"
	step run_unit 1
	step in_ns "curl -sf -m 2 http://127.0.0.1:9478/healthz | grep -qx ok"  # odeflow-IF.conf was read
	stop_unit
	step eval '! attached'                                # a stop that stops
	step test ! -e "$T/bpf/odeflow-odinst0/verdicts"
	echo keep >> "$T/etc/odeflow/odeflow-odinst0.conf"    # gapless restarts
	step run_unit 2
	stop_unit
	step attached                                         # kept, enforcing
	step run_unit 3                                       # takes it over
	step grep -q attached "$T/unit3.err"
	stop_unit
	step attached
	step in_ns "$prefix/bin/odeflow detach --iface odinst0 | grep -q 'detached from odinst0'"
	step eval '! attached'
	if [ $ok = 1 ]; then pass unit_command_with_its_capabilities
	else cat "$T"/unit*.err 2>/dev/null; fail unit_command_with_its_capabilities "at: $why"; fi
fi

if [ -d /run/systemd/system ]; then
	echo "SKIP unit_under_systemd: systemd runs here, but this test does not start units on the host yet"
else
	echo "SKIP unit_under_systemd: systemd is not running on this machine (PID 1 is $(cat /proc/1/comm))"
fi
