#!/usr/bin/env bash
# Builds each tests/fuzz/fuzz_*.c with libFuzzer + ASan + UBSan against the
# project's sources and runs it for a bounded time (seconds, default 20) on
# its seed corpus tests/fuzz/corpus/NAME/. Prints PASS/FAIL per fuzzer.
set -uo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-20}
out=build-fuzz; mkdir -p "$out"
flags="-O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -Wall -Wextra -Werror -std=gnu11 -D_GNU_SOURCE -Iuser -Ibpf -Ibuild"
libs="-lbpf -lelf -lz -lopenblas -ljansson -lpcap -lpthread -lm"
srcs=$(ls user/*.c | grep -v -e '/main.c$' -e '/cmd_')
shopt -s nullglob
for f in tests/fuzz/fuzz_*.c; do
	name=$(basename "$f" .c)
	if ! clang $flags -I"$(pkg-config --variable=includedir openblas 2>/dev/null || echo /usr/include)" \
		-L/usr/lib/x86_64-linux-gnu/openblas-pthread "$f" $srcs $libs -o "$out/$name" 2>"$out/$name.build.log"; then
		cat "$out/$name.build.log"; echo "FAIL $name: build failed"; continue
	fi
	corpus=tests/fuzz/corpus/${name#fuzz_}
	work=$(mktemp -d)
	[ -d "$corpus" ] && cp -r "$corpus"/. "$work"/
	if "$out/$name" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
		-artifact_prefix="$out/$name-" "$work" >"$out/$name.log" 2>&1; then
		echo "PASS $name: $(grep -o 'Done [0-9]* runs' "$out/$name.log" | tail -1) in ${seconds} s"
	else
		tail -40 "$out/$name.log"; echo "FAIL $name: see $out/$name.log and $out/$name-*"
	fi
	rm -rf "$work"
done
