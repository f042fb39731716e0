#!/usr/bin/env bash
# Builds the journey lab's REAL operating system: a Debian 12 (bookworm) root filesystem made
# with mmdebstrap from Debian's mirror, packed as OUT.tar.zst. The installer stand-in writes it
# to the lab machines' disks. The lab caches OUT outside the repository and the work dir, named
# after the sha256 of this script (the package list and every setting are in it).
# usage: build-debian-rootfs.sh OUT.tar.zst   (root; MIRROR= overrides the mirror)
set -euo pipefail
OUT=$1
# The mirror /etc/apt/sources.list.d/debian.sources names on the lab host.
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SECURITY=${SECURITY:-http://deb.debian.org/debian-security}

PACKAGES=(
  systemd systemd-sysv dbus udev kmod
  openssh-server wireguard-tools iproute2 nftables curl
  # the journey lab's mesh checks ping each node's WireGuard address from the other
  iputils-ping
  linux-image-amd64 initramfs-tools e2fsprogs
  # GRUB for both firmwares: BIOS (i386-pc, into the GPT's BIOS boot partition) and UEFI
  # (x86_64-efi, the removable path EFI/BOOT/BOOTX64.EFI on the ESP: no NVRAM entry needed).
  grub-pc-bin grub-efi-amd64-bin grub2-common
)

# Size: no docs (but their copyright files) or man pages (dpkg never unpacks them; the hook
# removes those of the essential packages mmdebstrap unpacked itself); locales and the kernel
# drivers the lab's machines never load (graphics, sound, media, wireless, infiniband, staging,
# USB, SCSI host adapters, Ethernet other than Intel's e1000 family ...; virtio, e1000,
# WireGuard, VXLAN, veth, netfilter and every filesystem stay) are removed in the customize
# hook, before depmod and the initramfs are made again.
DPKG_EXCLUDES=('/usr/share/doc/*' '/usr/share/man/*' '/usr/share/info/*' '/usr/share/lintian/*')
PRUNE_MODULES="drivers/gpu drivers/media drivers/infiniband drivers/staging drivers/net/wireless drivers/bluetooth
  drivers/iio drivers/isdn drivers/comedi drivers/mtd drivers/nfc drivers/atm drivers/thunderbolt drivers/hwmon
  drivers/input/touchscreen drivers/usb drivers/hid drivers/target drivers/mmc drivers/ufs drivers/message
  drivers/net/can drivers/net/usb drivers/net/hamradio drivers/net/arcnet drivers/net/fddi drivers/video
  sound net/bluetooth net/wireless net/mac80211"
DPKGOPTS=()
for p in "${DPKG_EXCLUDES[@]}"; do DPKGOPTS+=(--dpkgopt="path-exclude=$p"); done
DPKGOPTS+=(--dpkgopt='path-include=/usr/share/doc/*/copyright')

TMP=$(mktemp -d "${TMPDIR:-/tmp}/rootfs-build.XXXXXX")
trap 'rm -rf -- "$TMP"' EXIT

# The installed system's initramfs: the disk and filesystem drivers by name (MODULES=list),
# not every storage driver (MODULES=most): smaller, so GRUB loads it faster under TCG.
ESSENTIAL_HOOK='mkdir -p "$1/etc/initramfs-tools/conf.d" "$1/usr/share/initramfs-tools/modules.d"
printf "MODULES=list\nCOMPRESS=gzip\n" >"$1/etc/initramfs-tools/conf.d/kickstand-lab"
printf "%s\n" virtio_pci virtio_blk ahci sd_mod ext4 crc32c_generic >"$1/usr/share/initramfs-tools/modules.d/kickstand-lab"'

# Configuration of the installed system (runs on the host with $1 = the new root):
#   - no SSH host keys: each installed machine gets its own from the kickstart's %post;
#   - an empty machine-id: the installer writes one per machine (systemd-machine-id-setup);
#   - systemd-networkd: DHCP on the first Ethernet NIC whatever its name (Type=ether), with
#     the MAC as client identifier (RFC 2132 §9.14 type 1), as the firmware and iPXE use;
#   - the serial console: GRUB and the kernel on ttyS0 (the kernel's console= makes systemd
#     start serial-getty@ttyS0, whose login banner the lab waits for);
#   - boot-time and periodic jobs a short-lived lab machine never needs masked (e2scrub, apt's
#     daily timers): under TCG every unit costs seconds;
#   - no apt lists, caches, docs, man pages or locales.
CUSTOMIZE_HOOK='set -e
rm -f "$1"/etc/ssh/ssh_host_*
echo debian >"$1/etc/hostname"
: >"$1/etc/machine-id"
rm -f "$1/var/lib/dbus/machine-id"
mkdir -p "$1/etc/systemd/network"
printf "[Match]\nType=ether\n\n[Network]\nDHCP=ipv4\nLinkLocalAddressing=no\nIPv6AcceptRA=no\n\n[DHCPv4]\nClientIdentifier=mac\nUseHostname=no\n" >"$1/etc/systemd/network/20-lab-dhcp.network"
systemctl --root="$1" enable systemd-networkd.service ssh.service
systemctl --root="$1" mask e2scrub_reap.service e2scrub_all.timer apt-daily.timer apt-daily-upgrade.timer
cat >"$1/etc/default/grub" <<EOF
GRUB_DEFAULT=0
GRUB_TIMEOUT=0
GRUB_DISTRIBUTOR=Debian
GRUB_CMDLINE_LINUX_DEFAULT="quiet"
GRUB_CMDLINE_LINUX="console=ttyS0,115200n8"
GRUB_TERMINAL="serial console"
GRUB_SERIAL_COMMAND="serial --unit=0 --speed=115200"
GRUB_DISABLE_OS_PROBER=true
EOF
rm -rf "$1"/usr/share/locale/* "$1"/usr/share/man/* "$1"/usr/share/info/*
find "$1/usr/share/doc" -type f ! -name copyright -delete
for kdir in "$1"/lib/modules/*; do
  for d in '"${PRUNE_MODULES//$'\n'/ }"'; do rm -rf "$kdir/kernel/$d"; done
  for v in "$kdir"/kernel/drivers/net/ethernet/*; do [ "${v##*/}" = intel ] || rm -rf "$v"; done
  find "$kdir/kernel/drivers/scsi" -mindepth 1 -maxdepth 1 -type d -exec rm -rf {} +
  chroot "$1" depmod -a "${kdir##*/}"
done
chroot "$1" update-initramfs -u -k all
rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/* "$1"/var/log/*.log "$1"/var/log/apt/*'

start=$(date +%s)
mmdebstrap --mode=root --variant=apt --format=tar \
  --aptopt='APT::Install-Recommends "false"' \
  "${DPKGOPTS[@]}" \
  --include="$(IFS=,; echo "${PACKAGES[*]}")" \
  --essential-hook="$ESSENTIAL_HOOK" \
  --customize-hook="$CUSTOMIZE_HOOK" \
  bookworm "$TMP/rootfs.tar" \
  "deb $MIRROR bookworm main" "deb $MIRROR bookworm-updates main" "deb $SECURITY bookworm-security main"
zstd -q -T0 -6 "$TMP/rootfs.tar" -o "$OUT.tmp"
mv "$OUT.tmp" "$OUT"
echo "debian rootfs: $OUT ($(stat -c %s "$OUT") bytes compressed, $(stat -c %s "$TMP/rootfs.tar") bytes as tar, $(($(date +%s) - start)) s)"
