#!/usr/bin/env bash
# Runs every test and prints one summary line: "N passed, N failed, N skipped".
#   tests/run.sh BUILD_DIR [sanitized] [fuzz] [kernel61]
# BUILD_DIR/tests/test_* are C test binaries (tests/unit, tests/live); tests/{unit,live}/test_*.sh
# are shell tests
# (they get the build dir as $1). Every test prints PASS/FAIL/SKIP lines.
# "sanitized" rebuilds into build-san with ASan+UBSan and runs the C tests again;
# "fuzz" runs each fuzzer in tests/fuzz for a bounded time; "kernel61" runs
# the XDP tests again on Debian 12's 6.1 kernel in a VM (tests/vm/kernel61_check.sh).
set -uo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}; shift || true
log=$(mktemp); trap 'rm -f "$log"' EXIT

run_one() { # label command...
	local label=$1; shift
	local out rc start=$SECONDS
	out=$("$@" 2>&1); rc=$?
	printf '%s\n' "$out" | sed "s|^|[$label] |"
	printf '%s\n' "$out" | grep -E '^(PASS|FAIL|SKIP) ' | sed "s|^\(PASS\|FAIL\|SKIP\) |\1 $label/|" >> "$log"
	if [ $rc -ne 0 ] && ! printf '%s\n' "$out" | grep -q '^FAIL '; then
		echo "FAIL $label: exited with status $rc" | tee -a "$log"
	fi
	echo "[$label] done in $((SECONDS - start)) s"
}

run_suite() { # dir label-prefix
	local dir=$1 prefix=$2
	for t in "$dir"/tests/test_*; do
		[ -x "$t" ] || continue
		run_one "$prefix$(basename "$t")" "$t"
	done
}

run_suite "$build" ""
for t in tests/unit/test_*.sh tests/live/test_*.sh; do
	[ -f "$t" ] || continue
	run_one "$(basename "$t" .sh)" bash "$t" "$build"
done

for extra in "$@"; do
	case $extra in
	sanitized)
		if make --no-print-directory -j"${JOBS:-$(nproc)}" san >/dev/null 2>"$log.err"; then
			ODEFLOW=build-san/odeflow ODEFLOW_SANITIZED=1 ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
				UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 run_suite build-san "san:"
		else
			cat "$log.err"; echo "FAIL san: sanitizer build failed" | tee -a "$log"
		fi
		rm -f "$log.err";;
	fuzz)
		run_one fuzz bash tests/fuzz/run.sh "${FUZZ_SECONDS:-8}";;
	kernel61)
		run_one kernel61 bash tests/vm/kernel61_check.sh;;
	esac
done

pass=$(grep -c '^PASS ' "$log"); fail=$(grep -c '^FAIL ' "$log"); skip=$(grep -c '^SKIP ' "$log")
if [ "$fail" -gt 0 ]; then echo; echo "failed:"; grep '^FAIL ' "$log"; fi
if [ "$skip" -gt 0 ]; then echo; echo "skipped:"; grep '^SKIP ' "$log"; fi
echo
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
