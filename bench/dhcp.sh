#!/usr/bin/env bash
# bench/dhcp.sh - DHCPv4 DORA/s at zero drops and latency: Kickstand vs Kea (memfile,
# persist on), same machine, same client (perfdhcp in relay mode with PXE options), same
# rate search, in one run. Wraps ../shared/peer-bench/dhcp-peers.sh (see its -h) and adds the
# Kickstand/Kea ratio. Kickstand runs as the test daemon (test/dhcp/fixtures/dhcp-daemon.ts,
# bundled with esbuild so no TypeScript loader runs in the hot path) with the SQLite store on
# disk (WAL, synchronous=FULL, group commit): every lease is committed before its ACK.
#
# usage: sudo bench/dhcp.sh [--servers kea[,dnsmasq]] [--period S] [--steps N] [--tmpfs]
#                           [--deadline S] [--out FILE]      (other options: dhcp-peers.sh -h)
# Needs root, perfdhcp (kea-admin), kea-dhcp4, node 20. Uses 198.19.0.0/16 in its own netns.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PEERS=${PEERS:-$REPO/../shared/peer-bench/dhcp-peers.sh}
[ -x "$PEERS" ] || [ -f "$PEERS" ] || { echo "dhcp.sh: peer bench not found at $PEERS (set PEERS=)" >&2; exit 1; }

SERVERS=kea; OUT=""; PASS=()
while [ $# -gt 0 ]; do
  case $1 in
    --servers) SERVERS=$2; shift 2;;
    --out) OUT=$2; shift 2;;
    -h|--help) sed -n '2,14p' "$0"; exit 0;;
    *) PASS+=("$1"); shift;;
  esac
done

BUILD=$(mktemp -d "${TMPDIR:-/tmp}/ks-dhcp-bench.XXXXXX")
trap 'rm -rf "$BUILD"' EXIT
"$REPO/node_modules/.bin/esbuild" "$REPO/test/dhcp/fixtures/dhcp-daemon.ts" --bundle --platform=node \
  --target=node20 --format=cjs --packages=external --outfile="$BUILD/dhcp-daemon.js" --log-level=warning
chmod -R a+rX "$BUILD"
REPORT=$BUILD/report.md
CAND="NODE_PATH=$REPO/node_modules KS_LOG_LEVEL=warn exec node $BUILD/dhcp-daemon.js --peer-bench"

bash "$PEERS" --servers "$SERVERS" --candidate "$CAND" --candidate-name kickstand --out "$REPORT" "${PASS[@]}"

# Ratio from the results table: columns 7 (zero-drop DORA/s) and 8 (avg ms DO/RA at zero drop).
row() { awk -F'|' -v n="$1" '{k=$2; gsub(/^ +| +$/, "", k)} k==n {print; exit}' "$REPORT"; }
col() { printf '%s' "$1" | awk -F'|' -v c="$2" '{v=$(c+1); gsub(/^ +| +$/, "", v); gsub(/[^0-9.\/]/, "", v); print v}'; }
K=$(row kickstand); E=$(row kea)
{
  cat "$REPORT"
  echo
  echo "### Kickstand / Kea"
  echo
  if [ -n "$K" ] && [ -n "$E" ]; then
    kz=$(col "$K" 7); ez=$(col "$E" 7); ks=$(col "$K" 4); es=$(col "$E" 4)
    awk -v k="$kz" -v e="$ez" -v ks="$ks" -v es="$es" -v kl="$(col "$K" 8)" -v el="$(col "$E" 8)" 'BEGIN {
      printf "- zero-drop DORA/s: kickstand %s, kea %s, ratio %.2fx\n", k, e, (e > 0 ? k / e : 0)
      printf "- saturated completed DORA/s: kickstand %s, kea %s, ratio %.2fx\n", ks, es, (es > 0 ? ks / es : 0)
      printf "- avg latency at zero drop (ms, DISCOVER-OFFER/REQUEST-ACK): kickstand %s, kea %s\n", kl, el }'
  else
    echo "- ratio unavailable (a server produced no result row; see the tables above)"
  fi
} | tee "${OUT:-/dev/null}"
