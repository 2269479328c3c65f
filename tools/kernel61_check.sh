#!/usr/bin/env bash
# Checks that odeflow's XDP program loads and works on Debian 12's own
# kernel (6.1), whatever kernel this machine runs: it boots that kernel
# under qemu and runs build/tests/test_xdp_prog (and `odeflow --help`) there.
#
#   sudo tools/kernel61_check.sh        # TIMEOUT=600 bounds the guest (s); KVM=0 forces TCG
#
# How: installs what is missing (qemu, a static busybox, cpio, kmod), fetches
# the newest linux-image-6.1.0-*-amd64 package with `apt-get download` and
# unpacks it into a temporary folder (nothing is installed on the host), builds
# a busybox initramfs holding the virtio/9p modules, and boots it with the
# host's / shared read-only over 9p and no network device. The guest's init
# chroots into that share (with its own proc, sys, dev, bpffs and a tmpfs
# /tmp) and runs the test. Prints the guest's uname -r, the test's output and
# a summary; exits with the test's exit code in the guest (non-zero if the
# guest never reported one). Everything lives under one mktemp folder that is
# removed on exit; qemu runs under `timeout`.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
TIMEOUT=${TIMEOUT:-600}
[ "$(id -u)" -eq 0 ] || { echo "kernel61_check: needs root: sudo $0" >&2; exit 2; }
[ -x "$ROOT/build/tests/test_xdp_prog" ] && [ -x "$ROOT/build/odeflow" ] || make -C "$ROOT"

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
missing=()
for p in qemu-system-x86 busybox-static cpio kmod xz-utils zstd bpftool; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] || apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

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
apt-get download -qq -o APT::Sandbox::User=root "$PKG"
dpkg-deb -x "$PKG"_*.deb k
grep -q '^CONFIG_DEBUG_INFO_BTF=y' "k/boot/config-$KVER" || echo "kernel61_check: warning: $KVER has no BTF"

# Initramfs: static busybox, an init script, and the modules for virtio-pci
# and 9p in load order (the deb ships no modules.dep: depmod makes one).
mkdir -p i/bin i/dev i/proc i/sys i/mnt i/mod
cp /bin/busybox i/bin/busybox
printf 'ROOT=%q\n' "$ROOT" > i/env
depmod -b k "$KVER"
for m in virtio_pci 9pnet_virtio 9p; do
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
echo "GUEST-KERNEL: $(uname -r)"
R=/mnt
if mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144 hostroot $R; then
  mount -t proc proc $R/proc; mount -t sysfs sys $R/sys; mount -t devtmpfs dev $R/dev
  mount -t bpf bpf $R/sys/fs/bpf; mount -t tmpfs tmp $R/tmp
  run() { chroot $R /usr/bin/env -i HOME=/root PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"; }
  echo "=== odeflow --help ==="
  run "$ROOT/build/odeflow" --help 2>&1; echo "ODEFLOW-HELP-RC=$?"
  echo "=== test_xdp_prog ==="
  run /bin/sh -c 'cd "$1" && exec ./build/tests/test_xdp_prog' sh "$ROOT" 2>&1
  echo "ODEFLOW-TEST-RC=$?"
else
  echo "9p mount failed"; dmesg | tail -n 30
fi
sync
poweroff -f
EOF
chmod +x i/init
(cd i && find . | cpio -o -H newc --quiet | gzip -1) > initrd.img

accel=()
[ -c /dev/kvm ] && [ "${KVM:-1}" != 0 ] && accel=(-enable-kvm -cpu host)
echo "kernel61_check: booting $KVER under qemu ${accel[*]:-(TCG, no KVM)}, at most ${TIMEOUT}s"
start=$SECONDS qrc=0
timeout -k 10 "$TIMEOUT" qemu-system-x86_64 -nographic -no-reboot -m 1024 -smp 2 "${accel[@]}" \
  -nic none -kernel "k/boot/vmlinuz-$KVER" -initrd initrd.img \
  -append "console=ttyS0 quiet panic=-1" \
  -virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on \
  </dev/null >console.raw 2>&1 || qrc=$?
tr -d '\r' < console.raw > console.log
echo "kernel61_check: qemu exited $qrc after $((SECONDS - start))s"

rc=$(sed -n 's/^ODEFLOW-TEST-RC=//p' console.log)
if [ -z "$rc" ]; then
  echo "kernel61_check: the guest reported no test result; its console:" >&2
  cat console.log >&2
  exit 1
fi
echo "guest kernel: $(sed -n 's/^GUEST-KERNEL: //p' console.log)"
sed -n '/^=== odeflow --help ===/,/^ODEFLOW-TEST-RC=/p' console.log
pass=$(grep -c '^PASS ' console.log || true)
fail=$(grep -c '^FAIL ' console.log || true)
skip=$(grep -c '^SKIP ' console.log || true)
echo "kernel $KVER: $pass passed, $fail failed, $skip skipped (test exit code $rc)"
exit "$rc"
