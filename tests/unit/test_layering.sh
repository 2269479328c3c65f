#!/usr/bin/env bash
# Includes between user/ folders run one way (tools/check_layering.sh), and
# the check finds a backward include planted in a copy of the tree.
set -uo pipefail
cd "$(dirname "$0")/../.."
if out=$(bash tools/check_layering.sh 2>&1); then
	echo "PASS layering_of_the_tree"
else
	printf '%s\n' "$out"; echo "FAIL layering_of_the_tree"
fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cp -r user "$tmp/user"
printf '#include "loader/xdp_loader.h"\n' >> "$tmp/user/engine/model.c"
printf '#include "cli/cli.h"\n' >> "$tmp/user/agent/agent.c"
out=$(bash tools/check_layering.sh "$tmp" 2>&1); rc=$?
if [ $rc -ne 0 ] && grep -q 'user/engine/model.c: includes "loader/xdp_loader.h"' <<<"$out" &&
   grep -q 'user/agent/agent.c: includes "cli/cli.h"' <<<"$out"; then
	echo "PASS layering_finds_backward_includes"
else
	printf '%s\n' "$out"; echo "FAIL layering_finds_backward_includes: status $rc"
fi
