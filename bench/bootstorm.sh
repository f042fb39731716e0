#!/usr/bin/env bash
# bench/bootstorm.sh - a boot storm through `kickstand serve` as deployed, side by side with
# dnsmasq (DHCP + TFTP) + nginx in the same run, with the same simulated clients: each goes PXE
# ROM DHCP (relayed) -> TFTP undionly.kpxe -> iPXE DHCP -> script -> kernel -> initrd -> kickstart.
# A benchmark, not a test: it prints figures and never fails on them.
#
# The runner and its client are ../shared/peer-bench/bootstorm-peers.sh and bootstorm-client.py
# (read-only material beside this repository; nothing of it is copied here). Kickstand runs as its
# --candidate through bench/bootstorm-candidate.sh: a generated config, the simulator's MACs
# registered and armed with `kickstand host import` (the operator's bulk path) before DHCP opens,
# then `exec kickstand serve`. Without ../shared this script says so and exits 2: the project has
# no storm client of its own yet.
#
# usage: sudo bench/bootstorm.sh [--clients 1,20,100,300] [--runs 3] [--out FILE] [-- peer options]
#   --clients LIST  storm sizes (default 1,20,100,300; at most 1000)
#   --runs R        runs per stack and size (default 3; the tables show the median)
#   --out FILE      also write the markdown tables to FILE
#   --tftp-max N    Kickstand's tftp.maxSessions (default 50, the shipped default; a rack of
#                   1,000 at once needs more: at 50 the deferred RRQs of N=1000 ran out of retries)
#   --cpu-prof DIR  write a V8 CPU profile of each serving daemon into DIR (KS_BS_CPU_PROF)
#   anything after -- goes to bootstorm-peers.sh as is (see its -h), e.g. -- --stacks none
# Needs: root, node (npm run build is run first), dnsmasq, nginx, python3 (the peer script's list).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
PEER=${KS_PEER_BENCH:-$REPO/../shared/peer-bench}
CLIENTS=1,20,100,300; RUNS=3; OUT=""; TFTP_MAX=50; PROF=""
while [ $# -gt 0 ]; do
  case $1 in
    --clients) CLIENTS=$2; shift 2;;
    --runs) RUNS=$2; shift 2;;
    --out) OUT=$2; shift 2;;
    --tftp-max) TFTP_MAX=$2; shift 2;;
    --cpu-prof) PROF=$(mkdir -p "$2" && cd "$2" && pwd); shift 2;;
    --) shift; break;;
    -h|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2;;
  esac
done
[ -x "$PEER/bootstorm-peers.sh" ] || { echo "no $PEER/bootstorm-peers.sh: the storm client is not in this repository (set KS_PEER_BENCH)" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "needs root (namespaces, ports 67/69/80)" >&2; exit 2; }
max=$(tr ',' '\n' <<<"$CLIENTS" | sort -n | tail -1)
(cd "$REPO" && npm run -s build)
echo "# load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
args=(--clients "$CLIENTS" --runs "$RUNS" --candidate-name kickstand
  --candidate "KS_BS_REPO=$REPO KS_BS_CLIENTS=$max KS_BS_TFTP_MAX=$TFTP_MAX KS_BS_CPU_PROF=$PROF exec $REPO/bench/bootstorm-candidate.sh")
[ -n "$OUT" ] && args+=(--out "$OUT")
"$PEER/bootstorm-peers.sh" "${args[@]}" "$@"
echo "# load average after the run: $(cut -d' ' -f1-3 /proc/loadavg)"
