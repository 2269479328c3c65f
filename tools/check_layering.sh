#!/usr/bin/env bash
# Checks that includes between user/ folders run one way: a file in
# user/DIR/ may include user/OTHER/x.h only when user/DIR/README.md lists
# OTHER on its "May include:" line. Prints one line per backward include.
#   tools/check_layering.sh [ROOT]   (default: the repository)
set -uo pipefail
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
bad=0
for dir in "$root"/user/*/; do
	name=$(basename "$dir")
	allowed=$(sed -n 's/^May include: *//p' "$dir/README.md" 2>/dev/null | tr -d '.' | tr ',' ' ')
	if [ ! -f "$dir/README.md" ]; then
		echo "user/$name: no README.md saying what it may include"; bad=1; continue
	fi
	for f in "$dir"*.[ch]; do
		[ -f "$f" ] || continue
		while IFS= read -r line; do
			other=${line%%/*}
			case " $allowed " in
			*" $other "*) ;;
			*) echo "user/$name/$(basename "$f"): includes \"$line\" (user/$name may include: ${allowed:-nothing})"; bad=1;;
			esac
		done < <(sed -n 's/^#include "\([a-z_]*\/[^"]*\)".*/\1/p' "$f")
	done
done
[ $bad -eq 0 ] && echo "layering: every include runs one way"
exit $bad
