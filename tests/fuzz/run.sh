#!/usr/bin/env bash
# Builds each tests/fuzz/fuzz_*.c as a libFuzzer target with ASan + UBSan,
# linked against the project's library built the same way (build-fuzz/), and
# runs it for a bounded time (seconds, default 20) starting from its seed
# corpus tests/fuzz/corpus/NAME/. Prints one PASS/FAIL line per fuzzer.
set -uo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-20}
out=build-fuzz
san="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined"
if ! make --no-print-directory -j"${JOBS:-$(nproc)}" BUILD=$out CC=clang CFLAGS="$san -fsanitize=fuzzer-no-link" \
	$out/libodeflow.a >"$out.log" 2>&1; then
	tail -30 "$out.log"; echo "FAIL fuzz: library build failed"; exit 1
fi
cflags=$(make --no-print-directory -s print-cflags BUILD=$out)
libs=$(make --no-print-directory -s print-ldlibs)
shopt -s nullglob
for f in tests/fuzz/fuzz_*.c; do
	name=$(basename "$f" .c)
	if ! clang $san -fsanitize=fuzzer $cflags "$f" $out/libodeflow.a $libs -o "$out/$name" \
		2>"$out/$name.build.log"; then
		cat "$out/$name.build.log"; echo "FAIL $name: build failed"; continue
	fi
	work=$(mktemp -d)
	corpus=tests/fuzz/corpus/${name#fuzz_}
	[ -d "$corpus" ] && cp -r "$corpus"/. "$work"/
	# a fixed seed: the same inputs in the same order on every run, so a
	# finding reproduces instead of coming and going
	if "$out/$name" -seed=1 -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
		-artifact_prefix="$out/$name-" "$work" >"$out/$name.log" 2>&1; then
		echo "PASS $name: $(grep -o 'Done [0-9]* runs' "$out/$name.log" | tail -1) in $seconds s"
	else
		tail -40 "$out/$name.log"; echo "FAIL $name: crash input saved as $out/$name-*"
	fi
	rm -rf "$work"
done
