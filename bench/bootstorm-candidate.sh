#!/usr/bin/env bash
# bench/bootstorm-candidate.sh - `kickstand serve` as the boot-storm candidate, in both modes of
# bench/bootstorm.sh: run BY the peer boot-storm script (bootstorm.sh passes it as --candidate),
# or by bootstorm.sh itself in standalone mode, inside the server namespace, with the PB_*
# environment (the peer script's --candidate contract; standalone mode sets the same variables)
# and a fresh work dir as cwd (see bootstorm.sh).
#
# 1. Writes a production-shaped config from PB_*: authoritative DHCP for the relayed client
#    subnet (giaddr PB_RELAY_IP, trusted), TFTP and HTTP on PB_SERVER_IP, imagesDir = PB_ASSETS,
#    one profile `storm` (PB_KERNEL, PB_INITRD) with the shipped kickstarts/rocky9.ks.hbs.
# 2. Registers and arms the simulator's MACs the way an operator would: `kickstand host import`
#    of a CSV (02:62:73:RR:xx:xx, RR = 01..03 and cc, xx:xx = 0..KS_BS_CLIENTS-1), against a
#    first daemon with DHCP and TFTP off on loopback, so nothing answers a client before every
#    host is armed. The store is kept; that daemon stops.
# 3. exec `kickstand serve` with the full config: the deployed daemon, nothing bench-only.
# KS_BS_CLIENTS (default 1000): MACs registered per run number. KS_BS_REPO: the checkout.
# KS_BS_TFTP_MAX (default 50, the shipped default): tftp.maxSessions.
# KS_BS_CPU_PROF=DIR: run the serving daemon (not the registration one) with node --cpu-prof,
# writing its V8 CPU profile into DIR when it stops (open it in Chrome DevTools, or summarise it).
set -euo pipefail
REPO=${KS_BS_REPO:?KS_BS_REPO is set by bench/bootstorm.sh}
N=${KS_BS_CLIENTS:-1000}
[ -f "$REPO/dist/src/cli/main.js" ] || { echo "build first: npm run build" >&2; exit 1; }
KS=(node "$REPO/dist/src/cli/main.js")
W=$PB_WORKDIR
net=${PB_SERVER_CIDR%/*}; pfx=${PB_SERVER_CIDR#*/}
subnet="${net%.*}.0/$pfx"
cfg() { # $1: file, $2: dhcp mode, $3: tftp enabled, $4: http listen
  cat >"$1" <<YAML
stateDir: $W/state
http: { listen: "$4", publicUrl: "$PB_HTTP_BASE" }
api: { listen: "127.0.0.1:18081" }
log: { level: warn }
imagesDir: $PB_ASSETS
kickstartsDir: $REPO/kickstarts
network:
  address: $PB_SERVER_IP
  subnet: $subnet
  pool: { start: ${net%.*}.200, end: ${net%.*}.250 }
  leaseTime: $PB_LEASE_TIME
dhcp:
  mode: $2
  port: $PB_DHCP_PORT
  bind: 0.0.0.0
  unknownHosts: ignore
  trustedRelays: [$PB_RELAY_IP]
  relayed:
    - subnet: $PB_CLIENT_SUBNET
      pool: { start: $PB_POOL_START, end: $PB_POOL_END }
      gateway: $PB_ROUTER
      leaseTime: $PB_LEASE_TIME
  loaders: { bios: $PB_BOOTFILE }
tftp: { enabled: $3, listen: [$PB_SERVER_IP], port: $PB_TFTP_PORT, maxSessions: ${KS_BS_TFTP_MAX:-50} }
install: { tokenTtl: 14400, timeout: 7200 }
bootstrap: { enabled: false }
vars: { timezone: UTC, keyboard: us, lang: en_US.UTF-8 }
profiles:
  storm:
    kernel: $PB_KERNEL
    initrd: $PB_INITRD
    installTree: $PB_HTTP_BASE/images/tree
    kickstart: rocky9.ks.hbs
YAML
}
cfg "$W/register.yaml" off false 127.0.0.1:18080
cfg "$W/kickstand.yaml" authoritative true "$PB_SERVER_IP:$PB_HTTP_PORT"
{
  echo name,macs,profile,role
  for rr in 01 02 03 cc; do
    for ((i = 0; i < N; i++)); do
      printf 'bs-%s-%04d,02:62:73:%s:%02x:%02x,storm,agent\n' "$rr" "$i" "$rr" $((i >> 8)) $((i & 255))
    done
  done
} >"$W/hosts.csv"
"${KS[@]}" --config "$W/register.yaml" serve >"$W/register.log" 2>&1 &
reg=$!
for _ in $(seq 1 300); do
  [ -s "$W/state/api-token" ] && curl -fsS -o /dev/null http://127.0.0.1:18080/healthz 2>/dev/null && break
  sleep 0.1
done
t0=$(date +%s%N)
"${KS[@]}" --config "$W/register.yaml" --server http://127.0.0.1:18081 host import "$W/hosts.csv" >"$W/import.out"
echo "registered and armed $((4 * N)) hosts with kickstand host import in $((($(date +%s%N) - t0) / 1000000)) ms" >&2
kill -TERM "$reg"; wait "$reg" || true
[ -n "${KS_BS_CPU_PROF:-}" ] && KS=(node --cpu-prof --cpu-prof-dir "$KS_BS_CPU_PROF" "$REPO/dist/src/cli/main.js")
exec "${KS[@]}" --config "$W/kickstand.yaml" serve
