#!/usr/bin/env bash
# Installs the Debian 12 packages odeflow needs to build, test and run.
# Installs only what is missing, so it is cheap to run before every build.
# Needs root when something is missing; says so and fails otherwise.
set -euo pipefail

packages=(
  make gcc clang llvm bpftool pkg-config
  libbpf-dev libelf-dev zlib1g-dev
  libxdp-dev                    # odeflow run: the XDP hook shared through libxdp's multi-program dispatcher
  libopenblas-dev libpcap-dev libjansson-dev
  libsodium-dev                 # the keyed hash (SipHash) of the flow tables: chosen keys cannot flood them
  libmicrohttpd-dev             # odeflow run --metrics: the /metrics HTTP server
  libfixbuf-dev                 # odeflow run --ipfix: IPFIX records (RFC 7011)
  libndpi-dev                   # pcap2npy --label-ndpi: nDPI labels flows of full-payload captures
  libxgboost-dev                # odeflow train --arch trees (XGBoost's C API; the engine serves trees without it)
  libclang-rt-14-dev            # ASan/UBSan/libFuzzer runtimes for clang
  iproute2 tcpdump tcpreplay    # live tests: veth pairs, capture, replay
  iperf3                        # live tests: traffic of a real program
  xdp-tools                     # live tests: xdp-filter beside odeflow in the dispatcher, xdp-loader status
  prometheus curl               # live tests: a real Prometheus scrapes --metrics; promtool checks it
  pmacct libfixbuf-tools socat  # live tests: nfacctd and ipfixDump read what --ipfix exports
  jq bc                         # benchmark scripts
  tmux                          # the test of odeflow top in an 80-column terminal
  groff-base man-db             # the manual pages' tests: groff checks them, man shows the installed ones
  qemu-system-x86 busybox-static cpio kmod   # tests/vm/kernel61_check.sh: Debian 12's kernel in a VM
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "deps: missing packages: ${missing[*]}; run 'sudo make deps' (apt-get needs root)" >&2
  exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Several builds may install at once (parallel worktrees): wait for dpkg's lock
# rather than fail on it.
apt_opts=(-o DPkg::Lock::Timeout=900)
apt-get "${apt_opts[@]}" update -qq
apt-get "${apt_opts[@]}" install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
