#!/usr/bin/env bash
# bench/bootstorm.sh - a boot storm through `kickstand serve` as deployed: N simulated clients at
# once, each going PXE ROM DHCP (relayed) -> TFTP undionly.kpxe -> iPXE DHCP -> script ->
# kernel -> initrd -> kickstart, timed per step. A benchmark, not a test: it prints figures and
# never fails on them.
#
# Kickstand always runs through bench/bootstorm-candidate.sh: a generated config, the
# simulator's MACs registered and armed with `kickstand host import` (the operator's bulk path)
# before DHCP opens, then `exec kickstand serve`. Two modes:
#  - peer mode (when ../shared/peer-bench/bootstorm-peers.sh exists, or KS_PEER_BENCH names its
#    dir): that read-only script, beside this repository and not part of it, runs dnsmasq
#    (DHCP + TFTP) + nginx and Kickstand (its --candidate) in the same run with its own client;
#  - standalone mode (--standalone, or when that script is absent): Kickstand alone, with the
#    project's own client bench/storm-client.ts, in the same topology: netns ksb-s-PID
#    (198.18.40.1/24, route to 198.19.40.0/22 via 198.18.40.2) and ksb-c-PID (198.18.40.2/24,
#    the client subnet 198.19.40.0/22 local on lo: the relay 198.19.40.1 and every leased
#    address). Each run: a fresh daemon and work dir, one storm, the daemon stopped. Run r uses
#    the MACs 02:62:73:0r:xx:xx (xx:xx = client index), which the candidate registers for r = 1-3.
#    Served files: undionly.kpxe (Debian's ipxe package, else a 72 KiB random stand-in), vmlinuz
#    8 MiB and initrd.img 64 MiB of random bytes. The simulator is pinned to CPU 0 and the daemon
#    to CPU 1 when there are two. Namespaces, daemons and temp dirs are removed on exit.
#
# usage: sudo bench/bootstorm.sh [--clients 1,20,100,300] [--runs 3] [--out FILE] [--standalone]
#          [-- peer options]
#   --clients LIST  storm sizes (default 1,20,100,300; at most 1000)
#   --runs R        runs per stack and size (default 3; the tables show the median; standalone: 1-3)
#   --out FILE      also write the markdown tables to FILE
#   --tftp-max N    Kickstand's tftp.maxSessions (default 50, the shipped default; a rack of
#                   1,000 at once needs more: at 50 the deferred RRQs of N=1000 ran out of retries)
#   --cpu-prof DIR  write a V8 CPU profile of each serving daemon into DIR (KS_BS_CPU_PROF)
#   --standalone    Kickstand alone with bench/storm-client.ts, even when the peer script exists
#   --storm-timeout S  standalone: per-storm deadline, unfinished clients fail (default 120)
#   --verify size|sha256  standalone: check kernel/initrd by size (default) or size + SHA-256
#   --keep          standalone: keep the work dir (per-client JSON lines, daemon logs)
#   anything after -- goes to bootstorm-peers.sh as is (see its -h), e.g. -- --stacks none
# Needs: root, node (npm run build is run first), iproute2, curl; peer mode also what the peer
# script lists (dnsmasq, nginx, python3). docs/install-flow.md, "Boot storm benchmark".
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
PEER=${KS_PEER_BENCH:-$REPO/../shared/peer-bench}
CLIENTS=1,20,100,300; RUNS=3; OUT=""; TFTP_MAX=50; PROF=""; STANDALONE=0; STORM_TO=120; VERIFY=size; KEEP=0
while [ $# -gt 0 ]; do
  case $1 in
    --clients) CLIENTS=$2; shift 2;;
    --runs) RUNS=$2; shift 2;;
    --out) OUT=$2; shift 2;;
    --tftp-max) TFTP_MAX=$2; shift 2;;
    --cpu-prof) PROF=$(mkdir -p "$2" && cd "$2" && pwd); shift 2;;
    --standalone) STANDALONE=1; shift;;
    --storm-timeout) STORM_TO=$2; shift 2;;
    --verify) VERIFY=$2; shift 2;;
    --keep) KEEP=1; shift;;
    --) shift; break;;
    -h|--help) sed -n '2,/^set -e/p' "$0" | sed -n 's/^# \{0,1\}//p'; exit 0;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2;;
  esac
done

# ---- standalone mode: Kickstand alone with bench/storm-client.ts (header) --------------------
standalone() {
  [ $# -eq 0 ] || { echo "options after -- are for the peer script; standalone mode takes none" >&2; exit 2; }
  local n r c
  IFS=, read -ra NS_LIST <<<"$CLIENTS"
  for n in "${NS_LIST[@]}"; do
    [[ $n =~ ^[0-9]+$ ]] && [ "$n" -ge 1 ] && [ "$n" -le 1000 ] || { echo "--clients: 1..1000, got $n" >&2; exit 2; }
  done
  # the candidate registers the MACs of runs 01-03 (and cc): more runs would boot unknown MACs
  [[ $RUNS =~ ^[1-3]$ ]] || { echo "--runs: 1..3 in standalone mode" >&2; exit 2; }
  [[ $STORM_TO =~ ^[0-9]+$ ]] && [ "$STORM_TO" -ge 1 ] || { echo "--storm-timeout: whole seconds" >&2; exit 2; }
  case $VERIFY in size|sha256) ;; *) echo "--verify: size or sha256" >&2; exit 2;; esac
  for c in ip ss setsid timeout curl node; do command -v "$c" >/dev/null || { echo "missing $c" >&2; exit 2; }; done
  cd "$REPO" # node --import tsx resolves tsx from here
  npm run -s build

  TAG=$$; NS_S=ksb-s-$TAG; NS_C=ksb-c-$TAG; IF_S=ksbs$TAG; IF_C=ksbc$TAG
  SRV_IP=198.18.40.1; LINK_IP=198.18.40.2; RELAY_IP=198.19.40.1
  CLIENT_NET=198.19.40.0/22; POOL_START=198.19.40.10; POOL_END=198.19.43.250
  WORK=""; ASSETS=""; DPID=""; CPID=""
  trap sa_cleanup EXIT; trap 'echo "# interrupted" >&2; exit 130' INT TERM
  WORK=$(mktemp -d "${TMPDIR:-/var/tmp}/ks-bootstorm.XXXXXX"); chmod 755 "$WORK"
  if [ -w /dev/shm ]; then ASSETS=$(mktemp -d /dev/shm/ks-bootstorm-assets.XXXXXX); else ASSETS=$WORK/assets; mkdir "$ASSETS"; fi
  chmod 755 "$ASSETS"
  local load0; load0=$(cut -d' ' -f1-3 /proc/loadavg)
  local started; started=$(date -u '+%Y-%m-%d %H:%M UTC')
  SRV_PIN=(); CLI_PIN=()
  if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then SRV_PIN=(taskset -c 1); CLI_PIN=(taskset -c 0); fi

  # topology
  ip netns add "$NS_S"; ip netns add "$NS_C"
  ip link add "$IF_S" netns "$NS_S" type veth peer name "$IF_C" netns "$NS_C"
  ip -n "$NS_S" addr add "$SRV_IP/24" dev "$IF_S"; ip -n "$NS_C" addr add "$LINK_IP/24" dev "$IF_C"
  ip -n "$NS_S" link set lo up; ip -n "$NS_C" link set lo up
  ip -n "$NS_S" link set "$IF_S" up; ip -n "$NS_C" link set "$IF_C" up
  ip -n "$NS_S" route add "$CLIENT_NET" via "$LINK_IP"   # replies to giaddr and to leased addresses
  ip -n "$NS_C" route add local "$CLIENT_NET" dev lo      # the relay and every client address are local

  # served files
  if [ -r /usr/lib/ipxe/undionly.kpxe ]; then cp /usr/lib/ipxe/undionly.kpxe "$ASSETS/"; KPXE="undionly.kpxe from Debian's ipxe package"
  else head -c 73728 /dev/urandom >"$ASSETS/undionly.kpxe"; KPXE="undionly.kpxe: a 72 KiB random stand-in (no ipxe package)"; fi
  head -c $((8 << 20)) /dev/urandom >"$ASSETS/vmlinuz"
  head -c $((64 << 20)) /dev/urandom >"$ASSETS/initrd.img"
  chmod 644 "$ASSETS"/*

  echo "# load average before the run: $load0"
  local files=()
  for n in "${NS_LIST[@]}"; do
    for r in $(seq 1 "$RUNS"); do sa_run "$n" "$r" && files+=("$WORK/storm-$n-$r.jsonl"); done
  done
  local report=$WORK/report.md
  {
    echo "## Boot storm, Kickstand alone (standalone mode, bench/storm-client.ts)"
    echo
    echo "- started $started; load average $load0 before, $(cut -d' ' -f1-3 /proc/loadavg) after; $(nproc) CPUs"
    echo "- kickstand $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '?') (dist/, \`kickstand serve\` through bench/bootstorm-candidate.sh, tftp.maxSessions $TFTP_MAX), Node $(node --version)"
    echo "- topology: netns $NS_S ($IF_S $SRV_IP/24, route $CLIENT_NET via $LINK_IP) <-> netns $NS_C ($IF_C $LINK_IP/24, $CLIENT_NET local on lo); relay giaddr $RELAY_IP"
    echo "- pinning: $([ ${#SRV_PIN[@]} -gt 0 ] && echo 'simulator on CPU 0, daemon on CPU 1' || echo none)"
    echo "- files: $KPXE ($(stat -c %s "$ASSETS/undionly.kpxe") B, TFTP, blksize 1468 asked), vmlinuz 8 MiB, initrd.img 64 MiB (random bytes); downloads checked by $VERIFY"
    echo "- each run: a fresh daemon and store, N clients released at once, storm deadline $STORM_TO s"
    echo
    if [ ${#files[@]} -gt 0 ]; then node --import tsx "$REPO/bench/storm-client.ts" report "${files[@]}" || echo "(the report failed)"
    else echo "No storm finished."; fi
    if [ -s "$WORK/daemon-cpu.txt" ]; then
      echo; echo "Daemon CPU during each storm (utime + stime of \`kickstand serve\`):"; echo; cat "$WORK/daemon-cpu.txt"
    fi
  } >"$report"
  cat "$report"
  if [ -n "$OUT" ]; then cp "$report" "$OUT"; echo "# report written to $OUT" >&2; fi
  echo "# load average after the run: $(cut -d' ' -f1-3 /proc/loadavg)"
}

sa_stop() { # PID: SIGTERM to the process group it leads (setsid), up to 10 s, then SIGKILL
  local p=$1 i
  [ -n "$p" ] && kill -0 "$p" 2>/dev/null || return 0
  kill -TERM -- "-$p" 2>/dev/null || kill -TERM "$p" 2>/dev/null || true
  for i in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill -KILL -- "-$p" 2>/dev/null || true
  wait "$p" 2>/dev/null || true
}

sa_cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  sa_stop "$CPID"; sa_stop "$DPID"
  ip netns del "$NS_S" 2>/dev/null || true; ip netns del "$NS_C" 2>/dev/null || true
  [ -z "$ASSETS" ] || rm -rf -- "$ASSETS"
  if [ -z "$WORK" ]; then :; elif [ "$KEEP" = 1 ]; then echo "# work dir kept: $WORK" >&2; else rm -rf -- "$WORK"; fi
  exit "$rc"
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }

sa_run() { # N RUN: one storm against a fresh daemon; 0 when the client wrote its result
  local n=$1 r=$2 dir=$WORK/daemon-$1-$2 i up=0 t0 t1 rc=0
  mkdir -p "$dir"; chmod 755 "$dir"
  # the candidate's contract (bench/bootstorm-candidate.sh header): PB_* as the peer script sets them
  setsid env PB_SERVER_IP="$SRV_IP" PB_SERVER_CIDR="$SRV_IP/24" PB_RELAY_IP="$RELAY_IP" \
    PB_CLIENT_SUBNET="$CLIENT_NET" PB_POOL_START="$POOL_START" PB_POOL_END="$POOL_END" PB_ROUTER="$RELAY_IP" \
    PB_LEASE_TIME=3600 PB_DHCP_PORT=67 PB_TFTP_PORT=69 PB_HTTP_PORT=80 PB_HTTP_BASE="http://$SRV_IP" \
    PB_ASSETS="$ASSETS" PB_BOOTFILE=undionly.kpxe PB_KERNEL=vmlinuz PB_INITRD=initrd.img PB_WORKDIR="$dir" \
    KS_BS_REPO="$REPO" KS_BS_CLIENTS="$max" KS_BS_TFTP_MAX="$TFTP_MAX" KS_BS_CPU_PROF="$PROF" \
    ip netns exec "$NS_S" "${SRV_PIN[@]}" bash -c 'cd "$PB_WORKDIR" && exec "$0"' "$REPO/bench/bootstorm-candidate.sh" \
    >"$dir/daemon.out" 2>&1 &
  DPID=$!
  for i in $(seq 1200); do # up to 120 s: registration of 4 x max hosts, then the DHCP warm-up
    kill -0 "$DPID" 2>/dev/null || break
    if [ -n "$(ip netns exec "$NS_S" ss -Hlun 'sport = :67')" ] && [ -n "$(ip netns exec "$NS_S" ss -Hlun 'sport = :69')" ] &&
      [ -n "$(ip netns exec "$NS_S" ss -Hltn 'sport = :80')" ]; then up=1; break; fi
    sleep 0.1
  done
  if [ "$up" = 0 ]; then
    echo "# N=$n run $r: the daemon did not open UDP 67, UDP 69 and TCP 80; last lines of its output:" >&2
    tail -n 5 "$dir/daemon.out" >&2; sa_stop "$DPID"; DPID=""; return 1
  fi
  grep -h 'registered and armed' "$dir/daemon.out" >&2 || true
  sleep 0.3
  t0=$(cpu_ticks "$DPID")
  timeout -k 5 $((STORM_TO + 30)) ip netns exec "$NS_C" "${CLI_PIN[@]}" node --import tsx "$REPO/bench/storm-client.ts" run \
    --server "$SRV_IP" --relay "$RELAY_IP" -n "$n" --label kickstand --run "$r" \
    --mac-prefix "$(printf '02:62:73:%02x' "$r")" --assets "$ASSETS" --verify "$VERIFY" --timeout "$STORM_TO" \
    --out "$WORK/storm-$n-$r.jsonl" 2>"$WORK/client-$n-$r.err" &
  CPID=$!; wait "$CPID" || rc=$?; CPID=""
  t1=$(cpu_ticks "$DPID")
  echo "# $(tail -n 1 "$WORK/client-$n-$r.err")" >&2
  awk -v n="$n" -v r="$r" -v d=$((t1 - t0)) -v hz="$(getconf CLK_TCK)" 'BEGIN{printf "- N=%s run %s: %.2f s\n", n, r, d / hz}' >>"$WORK/daemon-cpu.txt"
  sa_stop "$DPID"; DPID=""
  [ "$rc" = 0 ] || [ "$rc" = 3 ] || { echo "# N=$n run $r: the client exited $rc" >&2; return 1; }
}

if [ "$STANDALONE" = 0 ] && [ ! -x "$PEER/bootstorm-peers.sh" ]; then
  echo "# no $PEER/bootstorm-peers.sh: standalone mode, Kickstand alone with bench/storm-client.ts" >&2
  STANDALONE=1
fi
[ "$(id -u)" = 0 ] || { echo "needs root (namespaces, ports 67/69/80)" >&2; exit 2; }
max=$(tr ',' '\n' <<<"$CLIENTS" | sort -n | tail -1)
if [ "$STANDALONE" = 1 ]; then standalone "$@"; exit 0; fi
(cd "$REPO" && npm run -s build)
echo "# load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
args=(--clients "$CLIENTS" --runs "$RUNS" --candidate-name kickstand
  --candidate "KS_BS_REPO=$REPO KS_BS_CLIENTS=$max KS_BS_TFTP_MAX=$TFTP_MAX KS_BS_CPU_PROF=$PROF exec $REPO/bench/bootstorm-candidate.sh")
[ -n "$OUT" ] && args+=(--out "$OUT")
"$PEER/bootstorm-peers.sh" "${args[@]}" "$@"
echo "# load average after the run: $(cut -d' ' -f1-3 /proc/loadavg)"
