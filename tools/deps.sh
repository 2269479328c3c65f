#!/usr/bin/env bash
# Installs the Debian 12 packages odeflow needs to build, test and run.
# Installs only what is missing, so it is cheap to run before every build.
# Needs root when something is missing; says so and fails otherwise.
set -euo pipefail

packages=(
  make gcc clang llvm bpftool pkg-config
  libbpf-dev libelf-dev zlib1g-dev
  libxdp-dev                    # odeflow run: the XDP hook shared through libxdp's multi-program dispatcher
  libmnl-dev                    # odeflow run: rtnetlink, to follow interfaces that go away and come back
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
  tshark                        # live tests: Wireshark's IPFIX dissector reads the standard elements with no configuration
  jq bc                         # benchmark scripts
  stress-ng                     # bench_agent.sh LOAD=stress: a CPU hog beside the agent
  tmux                          # the test of odeflow top in an 80-column terminal
  groff-base man-db             # the manual pages' tests: groff checks them, man shows the installed ones
  qemu-system-x86 busybox-static cpio kmod   # tests/vm/kernel61_check.sh: Debian 12's kernel in a VM
  # tools/lab (the traffic lab, tools/lab/README.md): its servers, clients and content
  nginx openssh-server openssh-client vsftpd lftp rsync prosody ngircd   # servers (and FTPS, rsync clients)
  python3-aiortc baresip                  # VoIP: WebRTC (aiortc) and SIP (baresip) calls
  espeak-ng sox                           # VoIP: the calls' synthesised conversations
  ffmpeg mpv chromium chromium-driver firefox-esr python3-selenium   # Video and Browsing clients
  libnss3-tools                           # the browsers trust the lab's CA (certutil)
  python3-slixmpp python3-irc             # Chat: XMPP and IRC clients
  debian-reference-en debian-handbook python3-doc apache2-doc   # the web sites' pages
  libjs-jquery fonts-font-awesome         # what the pages pull from third-party hosts
  ethtool openssl nodejs                 # the lab's links; its CA; npm, for the browsers' players
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

# Debian's nodejs leaves npm to a package of its own; NodeSource's carries it.
if ! command -v npm >/dev/null 2>&1 && dpkg-query -W -f='${Status}' nodejs 2>/dev/null | grep -q 'install ok installed'; then
  missing+=(npm)
fi

if [ ${#missing[@]} -ne 0 ]; then
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
fi

# The lab's browser players (hls.js, dash.js) come from npm's registry,
# pinned by tools/lab/web/package-lock.json and installed with `npm ci` into
# the lab's cache, outside the repository (tools/lab/README.md says why).
lab_npm=${ODEFLOW_LAB_CACHE:-/var/cache/odeflow-lab}/npm
lock=$(dirname "$0")/lab/web/package-lock.json
if [ ! -d "$lab_npm/node_modules" ] || ! cmp -s "$lock" "$lab_npm/package-lock.json"; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "deps: the lab's players are not in $lab_npm; run 'sudo make deps'" >&2
    exit 1
  fi
  echo "deps: installing the lab's players into $lab_npm (npm ci)"
  mkdir -p "$lab_npm"
  cp "$(dirname "$lock")/package.json" "$lock" "$lab_npm/"
  (cd "$lab_npm" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null)
fi
