#!/usr/bin/env bash
# The traffic lab's short run (tools/lab): every application once, for a
# few minutes, under a seed drawn at random (printed, so a failure can be
# replayed; no check may depend on one). Each application gives labelled
# connections with a direction of a window or more, pcap2npy makes a data
# set of every class, and nothing of the lab is left: no namespace, no
# process. A run interrupted part-way (SIGINT) ends within a minute and
# leaves nothing either.
set -uo pipefail
build=${1:-build}
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; }

if [ "$(id -u)" != 0 ]; then
	echo "SKIP test_lab: needs root (network namespaces)"; exit 0
fi
for cmd in chromium firefox-esr nginx ffmpeg mpv baresip prosody ngircd vsftpd lftp tcpdump; do
	if ! command -v "$cmd" >/dev/null; then
		echo "SKIP test_lab: $cmd missing (make deps)"; exit 0
	fi
done
T=$(mktemp -d /tmp/odeflow-test-lab-XXXXXX)
trap 'rm -rf "$T"' EXIT
seed=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
echo "  seed $seed"

# What a run left: its namespaces (lab<pid>-*) and processes that name its folder.
leftovers() { # RUN_DIR LOG
	local prefix
	prefix=$(grep -o 'namespaces lab[0-9]*' "$2" | awk '{ print $2 }')
	if [ -z "$prefix" ]; then echo "no namespaces named in $2"; return; fi
	ip netns list | awk '{ print $1 }' | grep "^$prefix-"
	pgrep -af "$1" | grep -v pgrep
}

# Short: sessions start for the first minute and end by the run's end.
start=$SECONDS
timeout -s INT 480 tools/lab/run.sh --out "$T/run" --seed "$seed" --minutes 1.75 --parallel 1 \
	--titles 1 --title-seconds 20-30 --files 3 --max-file-mb 4 > "$T/run.log" 2>&1
rc=$?
echo "  the short run took $((SECONDS - start)) s"
missing=""
for app in $(tools/lab/run.sh --list | cut -d' ' -f2-); do
	# a connection of the application with 20 packets or more one way
	awk -F, -v app="$app" 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
		$col["app"] == app && ($col["packets_up"] >= 20 || $col["packets_down"] >= 20) { found = 1 }
		END { exit !found }' "$T/run/labels.csv" 2>/dev/null || missing="$missing $app"
done
if [ $rc -eq 0 ] && [ -z "$missing" ]; then
	pass short_run_every_application
else
	fail short_run_every_application "exit $rc; no connection of 20 packets from:$missing"
	tail -30 "$T/run.log"
fi

if "$build/odeflow" pcap2npy --labels "$T/run/labels.csv" -o "$T/lab" "$T"/run/capture.pcap* \
	> "$T/npy.log" 2>&1; then
	classes=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "label") c = i; next }
		c { print $c }' "$T/lab_index.csv" | sort -u | tr '\n' ' ')
	if [ "$classes" = "Browsing Chat File_Transfer Video VoIP " ]; then
		pass short_run_makes_a_data_set
	else
		fail short_run_makes_a_data_set "windows of: $classes"
	fi
else
	fail short_run_makes_a_data_set "$(tail -3 "$T/npy.log")"
fi

left=$(leftovers "$T/run" "$T/run.log")
if [ -z "$left" ]; then pass short_run_leaves_nothing
else fail short_run_leaves_nothing "$left"; fi

# Interrupted once its sessions run.
tools/lab/run.sh --out "$T/cut" --seed "$seed" --minutes 5 --parallel 1 --classes Chat,File_Transfer \
	--files 2 --max-file-mb 2 > "$T/cut.log" 2>&1 &
lab=$!
start=$SECONDS
# its preparing (certificates, files) takes seconds; 2 minutes on a loaded machine
for _ in $(seq 240); do
	grep -q 'running 5 min' "$T/cut.log" && break
	sleep 0.5
done
echo "  the interrupted run's sessions began $((SECONDS - start)) s after its start"
sleep 5
kill -INT $lab
start=$SECONDS
for _ in $(seq 120); do
	kill -0 $lab 2>/dev/null || break
	sleep 0.5
done
kill -0 $lab 2>/dev/null && { kill -KILL $lab; echo "  the lab did not end within 60 s"; }
wait $lab
rc=$?
left=$(leftovers "$T/cut" "$T/cut.log")
if [ $rc -eq 130 ] && [ -z "$left" ] && grep -q 'running 5 min' "$T/cut.log"; then
	pass interrupted_run_leaves_nothing
	echo "  ended $((SECONDS - start)) s after SIGINT"
else
	fail interrupted_run_leaves_nothing "exit $rc after SIGINT; left: $left"
	tail -20 "$T/cut.log"
fi
