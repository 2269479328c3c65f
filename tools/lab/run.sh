#!/usr/bin/env bash
# The traffic lab: real applications in network namespaces, a capture of the
# link they share and labels.csv (tools/lab/README.md).
#   tools/lab/run.sh --out DIR --seed S [--minutes M] [--classes C,...] [--apps A,...] [--parallel P]
# --help lists every option.
exec /usr/bin/python3 "$(dirname "$0")/lab.py" "$@"
