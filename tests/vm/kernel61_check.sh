#!/usr/bin/env bash
# Checks that odeflow's XDP program loads and works on Debian 12's own
# kernel (6.1), whatever kernel this machine runs: it boots that kernel
# under qemu and runs the kernel-facing tests there: build/tests/test_xdp_prog
# (crafted frames through the loaded program), test_xdp_live (veth pairs,
# native and generic XDP, real traffic) and test_xdp_share (xdp-filter and
# odeflow in libxdp's dispatcher, which this kernel runs: it loads freplace
# programs), and checks `odeflow --help` runs.
#
#   sudo tests/vm/kernel61_check.sh        # TIMEOUT=600 bounds the guest (s),
#                                       # BOOT_TIMEOUT=120 its boot (retried twice)
#   sudo VM_RUN='build/tools/bench_xdp --dispatcher' tests/vm/kernel61_check.sh
#                                       # runs that (from the source tree) instead
#
# How: fetches the linux-image-6.1.0-*-amd64 package that bookworm's
# linux-image-amd64 depends on with `apt-get download` and unpacks it into a
# temporary folder (nothing is installed on the host), builds a busybox
# initramfs holding the virtio/9p/overlay/veth modules, and boots it with no
# network device and the host's / shared read-only over 9p. The guest's init
# lays a tmpfs overlay on that share (the guest's writes stay in its memory),
# chroots into it with its own proc, sys, dev and bpffs, and runs the tests as
# root. Prints the guest's uname -r and the tests' PASS/FAIL/SKIP lines; exits
# with the tests' status in the guest (1 if the guest never reported one).
# Everything lives under one mktemp folder removed on exit; qemu emulates the
# CPU (nested KVM is unreliable on the VMs this runs on, and emulation takes
# about 25 s) and runs under `timeout`.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TIMEOUT=${TIMEOUT:-600}
BOOT_TIMEOUT=${BOOT_TIMEOUT:-120} # the guest's init starts after about 5 s
[ "$(id -u)" -eq 0 ] || { echo "SKIP kernel61: needs root (boots a VM, loads BPF in it)"; exit 0; }
"$ROOT/tools/deps.sh"
{ [ -x "$ROOT/build/tests/test_xdp_prog" ] && [ -x "$ROOT/build/odeflow" ]; } || make -C "$ROOT"
# apt-get download needs the package lists, which a fresh image may lack
apt-cache show linux-image-amd64 >/dev/null 2>&1 || apt-get update -qq

W=$(mktemp -d /tmp/kernel61-XXXXXX)
trap 'rm -rf "$W"' EXIT
cd "$W"

# The 6.1 kernel package bookworm's metapackage points at, else the newest listed.
PKG=$(apt-cache depends linux-image-amd64 | grep -o 'linux-image-6\.1\.0-[0-9]*-amd64' | head -n1 || true)
[ -n "$PKG" ] || PKG=$(apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-amd64$' |
                      awk '{print $1}' | sort -V | tail -n1)
[ -n "$PKG" ] || { echo "kernel61_check: no linux-image-6.1.0-*-amd64 in the apt lists" >&2; exit 1; }
KVER=${PKG#linux-image-}
echo "kernel61_check: fetching $PKG"
apt-get download -qq -o APT::Sandbox::User=root "$PKG" ||
  { echo "SKIP kernel61: cannot download $PKG (no Debian mirror?)"; exit 0; }
dpkg-deb -x "$PKG"_*.deb k
grep -q '^CONFIG_DEBUG_INFO_BTF=y' "k/boot/config-$KVER" || echo "kernel61_check: warning: $KVER has no BTF"

# Initramfs: static busybox, an init script, and the modules for virtio-pci
# and 9p in load order (the deb ships no modules.dep: depmod makes one).
mkdir -p i/bin i/dev i/proc i/sys i/mnt i/lower i/rw i/mod
cp /bin/busybox i/bin/busybox
printf 'ROOT=%q\nVM_RUN=%q\n' "$ROOT" "${VM_RUN:-}" > i/env
depmod -b k "$KVER"
for m in virtio_pci 9pnet_virtio 9p overlay veth; do
  modprobe -d k -S "$KVER" --show-depends "$m"
done | awk '$1 == "insmod" && !seen[$2]++ { print $2 }' | while read -r ko; do
  name=$(basename "$ko"); name=${name%.xz}; name=${name%.zst}
  case $ko in
    *.xz) xz -dc "$ko" ;; *.zst) zstd -qdc "$ko" ;; *) cat "$ko" ;;
  esac > "i/mod/$name"
  echo "$name" >> i/mod/order
done

cat > i/init <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
. /env
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
for m in $(cat /mod/order); do insmod "/mod/$m" || echo "insmod $m failed"; done
echo; echo "GUEST-KERNEL: $(uname -r)"
# The host's / read-only, under a tmpfs overlay: the guest may write
# (/tmp, ...), and its writes stay in its memory.
R=/mnt
mount -t tmpfs rw /rw && mkdir /rw/upper /rw/work
if mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144 hostroot /lower &&
   mount -t overlay overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work $R; then
  mount -t proc proc $R/proc; mount -t sysfs sys $R/sys; mount -t devtmpfs dev $R/dev
  mount -t bpf bpf $R/sys/fs/bpf
  run() { chroot $R /usr/bin/env -i HOME=/root PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"; }
  echo "=== odeflow --help ==="
  if run "$ROOT/build/odeflow" --help >/dev/null 2>&1; then echo "PASS odeflow_help"
  else echo "FAIL odeflow_help: exited $?"; fi
  rc=0
  if [ -n "$VM_RUN" ]; then
    echo "=== $VM_RUN ==="
    run /bin/sh -c 'cd "$1" && eval "$2"' sh "$ROOT" "$VM_RUN" 2>&1 || rc=1
  fi
  [ -n "$VM_RUN" ] || for t in test_xdp_prog test_xdp_live test_xdp_share; do
    echo "=== $t ==="
    t0=$(date +%s)
    run /bin/sh -c 'cd "$1" && exec "./build/tests/$2"' sh "$ROOT" "$t" 2>&1 || rc=1
    echo "($t took $(( $(date +%s) - t0 )) s in the guest)"
  done
  echo; echo "ODEFLOW-TEST-RC=$rc"
else
  echo "mounting the host root failed"; dmesg | tail -n 30
fi
sync
poweroff -f
EOF
chmod +x i/init
(cd i && find . | cpio -o -H newc --quiet | gzip -1) > initrd.img

# One boot; 125 if the guest's init did not start within BOOT_TIMEOUT s.
# Rarely (seen once in about a dozen boots) the emulated guest hangs right
# after the BIOS's "Booting from ROM..." and never reaches its kernel's
# first line; that is the emulator, not our tests, so such a boot is retried.
boot() {
  timeout -k 10 "$TIMEOUT" qemu-system-x86_64 -nographic -no-reboot -m 1024 -smp 2 \
    -accel tcg -cpu max -nic none -kernel "k/boot/vmlinuz-$KVER" -initrd initrd.img \
    -append "console=ttyS0 quiet panic=-1" \
    -virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
    </dev/null >console.raw 2>&1 &
  local qemu=$! waited=0
  while kill -0 "$qemu" 2>/dev/null; do
    if [ "$waited" -ge "$BOOT_TIMEOUT" ] && ! grep -q 'GUEST-KERNEL:' console.raw; then
      kill "$qemu"; wait "$qemu" || true
      return 125
    fi
    sleep 1; waited=$((waited + 1))
  done
  wait "$qemu"
}

echo "kernel61_check: booting $KVER under qemu (emulated CPU), at most ${TIMEOUT}s"
start=$SECONDS
for attempt in 1 2 3; do
  qrc=0; boot || qrc=$?
  [ "$qrc" -eq 125 ] || break
  echo "kernel61_check: the guest did not start its init within ${BOOT_TIMEOUT}s" \
       "(attempt $attempt of 3); its console: $(tr -d '\r' < console.raw | tail -c 200 | tr '\n' ' ')"
done
tr -d '\r' < console.raw > console.log
echo "kernel61_check: qemu exited $qrc after $((SECONDS - start))s"

rc=$(sed -n 's/^ODEFLOW-TEST-RC=//p' console.log)
if [ -z "$rc" ]; then
  echo "kernel61_check: the guest reported no test result; its console:" >&2
  cat console.log >&2
  exit 1
fi
echo "guest kernel: $(sed -n 's/.*GUEST-KERNEL: //p' console.log)"
sed -n '/^=== odeflow --help ===/,/^ODEFLOW-TEST-RC=/p' console.log
pass=$(grep -c '^PASS ' console.log || true)
fail=$(grep -c '^FAIL ' console.log || true)
skip=$(grep -c '^SKIP ' console.log || true)
echo "kernel61_check: done in ${SECONDS}s; the tests exited $rc on $KVER"
echo "$pass passed, $fail failed, $skip skipped"
exit "$rc"
