#!/usr/bin/env bash
# bench/tftp.sh - TFTP download throughput of Kickstand against tftpd-hpa (in.tftpd), dnsmasq and
# atftpd with the same clients and file, in one run. A benchmark, not a test: it prints figures
# and ratios and never fails on them.
#
# Everything runs on 127.0.0.1 inside a private network namespace (so dnsmasq can have port 69),
# which also gets an unused veth with a 198.19.200.0/24 address: without a non-loopback IPv4
# address in.tftpd's getaddrinfo(AI_ADDRCONFIG) fails. Servers are pinned to CPU 1 and clients to
# CPU 0 (as ../shared/peer-bench/tftp-peers.sh does); each download is one whole client process,
# timed with date +%s%N, and compared byte for byte with the source afterwards.
#
# usage: sudo bench/tftp.sh [--runs N] [--size MiB] [--conc N] [--servers LIST] [--out FILE] [--peer-bench]
#   --runs N        timed runs per server/client (median; default 3)
#   --size MiB      file size (default 32)
#   --conc N        simultaneous curl-1468 downloads (default 20, 0 = skip)
#   --servers LIST  comma list of kickstand,kickstand-js,hpa,dnsmasq,atftpd (default: all available
#                   but kickstand-js). kickstand runs the TFTP data phase on the native addon's
#                   threads (plain files; the script checks it says so); kickstand-js is the same
#                   server with KICKSTAND_NATIVE=off (the JavaScript path), for comparison
#   --out FILE      also write the markdown report to FILE
#   --peer-bench    afterwards also run ../shared/peer-bench/tftp-peers.sh --candidate <kickstand>
#                   when that script exists (it is optional; this script does not need it)
# Needs: root, node, curl, atftp, taskset, cmp; in.tftpd (tftpd-hpa), dnsmasq (dnsmasq-base);
# atftpd is used from PATH, from the peer-bench cache, or unpacked with `apt-get download atftpd`
# (atftpd conflicts with tftpd-hpa in Debian, so it is not installed).
set -u -o pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
RUNS=3; SIZE=32; CONC=20; SERVERS=kickstand,hpa,dnsmasq,atftpd; OUT=""; PEER=0
while [ $# -gt 0 ]; do
  case $1 in
    --runs) RUNS=$2; shift 2;;
    --size) SIZE=$2; shift 2;;
    --conc) CONC=$2; shift 2;;
    --servers) SERVERS=$2; shift 2;;
    --out) OUT=$2; shift 2;;
    --peer-bench) PEER=1; shift;;
    -h|--help) sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; exit 0;;
    *) echo "unknown option $1" >&2; exit 2;;
  esac
done
log() { printf '[tftp-bench %4ss] %s\n' "$SECONDS" "$*" >&2; }
[ "$(id -u)" = 0 ] || { echo "needs root (network namespace)" >&2; exit 1; }
for c in node curl atftp taskset cmp ip; do command -v "$c" >/dev/null || { echo "missing $c" >&2; exit 1; }; done

NS=ksbench-tftp-$$
WORK=$(mktemp -d "${TMPDIR:-/dev/shm}/ks-tftp-bench.XXXXXX" 2>/dev/null || mktemp -d)
chmod 755 "$WORK"; ROOT=$WORK/root; DL=$WORK/dl; mkdir -p "$ROOT" "$DL"; chmod 755 "$ROOT"
declare -A PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  ip netns del "$NS" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

FILE=file-${SIZE}M.bin
head -c $(( SIZE * 1048576 )) /dev/urandom >"$ROOT/$FILE"; chmod 644 "$ROOT/$FILE"
ip netns add "$NS"; ip -n "$NS" link set lo up
ip link add ksb0 netns "$NS" type veth peer name ksb1 netns "$NS"
ip -n "$NS" addr add 198.19.200.1/24 dev ksb0; ip -n "$NS" link set ksb0 up; ip -n "$NS" link set ksb1 up

SP=(); CP=()
[ "$(nproc)" -ge 2 ] && { SP=(taskset -c 1); CP=(taskset -c 0); }
TUSER=nobody; getent passwd tftp >/dev/null && TUSER=tftp
ATFTPD=$(command -v atftpd || true)
for c in /usr/sbin/atftpd "${XDG_CACHE_HOME:-$HOME/.cache}/pxe-peer-bench/atftpd/usr/sbin/atftpd" "$HOME/.cache/kickstand-bench/atftpd/usr/sbin/atftpd"; do
  [ -z "$ATFTPD" ] && [ -x "$c" ] && ATFTPD=$c
done
if [ -z "$ATFTPD" ] && [[ ,$SERVERS, == *,atftpd,* ]]; then
  d=$HOME/.cache/kickstand-bench; mkdir -p "$d/deb"
  log "unpacking atftpd from the Debian package (apt-get download atftpd)"
  (cd "$d/deb" && timeout 120 apt-get download atftpd >/dev/null 2>&1) && dpkg-deb -x "$(ls -t "$d"/deb/atftpd_*.deb | head -1)" "$d/atftpd" \
    && ATFTPD=$d/atftpd/usr/sbin/atftpd
fi

# Kickstand is `kickstand serve` with a TFTP-only config (DHCP off; HTTP on an ephemeral
# loopback port); the served directory, port and state directory come in as KICKSTAND_*
# overrides (src/config/env.ts), so the same command works as the peer bench's --candidate.
cat >"$WORK/kickstand-tftp.yaml" <<YAML
http: { listen: 127.0.0.1:0 }
api: { listen: 127.0.0.1:0 }
network: { address: 127.0.0.1, subnet: 127.0.0.0/24, pool: { start: 127.0.0.100, end: 127.0.0.199 } }
dhcp: { mode: 'off' }
tftp: { listen: [127.0.0.1], maxBlksize: 65464, maxWindowsize: 64, maxSessions: 100, maxSessionsPerClient: 100 }
kickstartsDir: $REPO/kickstarts
log: { level: info }
YAML
KS_CMD="env KICKSTAND_IMAGES_DIR={root} KICKSTAND_TFTP__PORT={port} KICKSTAND_STATE_DIR=$WORK/state-{port} node --import tsx $REPO/src/cli/main.ts --config $WORK/kickstand-tftp.yaml serve"
port_of() { case $1 in kickstand) echo 16072;; kickstand-js) echo 16073;; hpa) echo 16069;; atftpd) echo 16070;; dnsmasq) echo 69;; esac; }
cmd_of() {
  local p; p=$(port_of "$1")
  case $1 in
    kickstand) local c=${KS_CMD//\{root\}/$ROOT}; echo "${c//\{port\}/$p}";;
    kickstand-js) local c=${KS_CMD//\{root\}/$ROOT}; c=${c//\{port\}/$p}; echo "env KICKSTAND_NATIVE=off ${c#env }";;
    hpa) echo "in.tftpd -L -a 127.0.0.1:$p -s -u $TUSER $ROOT";;
    atftpd) echo "$ATFTPD --daemon --no-fork --port $p --bind-address 127.0.0.1 --user $TUSER --group $(id -gn "$TUSER") --tftpd-timeout 300 --retry-timeout 5 --maxthread 100 --logfile /dev/null $ROOT";;
    dnsmasq) echo "dnsmasq --conf-file=/dev/null -k --port=0 --enable-tftp --tftp-root=$ROOT --listen-address=127.0.0.1 --bind-interfaces --pid-file=$WORK/dnsmasq.pid --log-facility=$WORK/dnsmasq.log";;
  esac
}
available() {
  case $1 in
    kickstand|kickstand-js) return 0;; hpa) command -v in.tftpd >/dev/null;; dnsmasq) command -v dnsmasq >/dev/null;;
    atftpd) [ -n "$ATFTPD" ] && [ -x "$ATFTPD" ];; *) return 1;;
  esac
}
start() {
  local name=$1 port pid; port=$(port_of "$1")
  (cd "$REPO" && exec ip netns exec "$NS" "${SP[@]}" bash -c "exec $(cmd_of "$name")") >"$WORK/$name.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 150); do
    if ip netns exec "$NS" ss -uanH "sport = :$port" | grep -q .; then PIDS[$name]=$pid; sleep 0.2; return 0; fi
    sleep 0.1
  done
  log "$name did not start: $(tail -3 "$WORK/$name.log")"; kill "$pid" 2>/dev/null; return 1
}
# Kickstand's CPU seconds so far (one process, all its threads: /proc/PID/stat utime+stime);
# peers fork, so not compared.
ks_cpu() { awk -v t="$(getconf CLK_TCK)" '{printf "%.3f", ($14+$15)/t}' "/proc/${PIDS[$1]}/stat" 2>/dev/null || echo 0; }
is_ks() { [[ $1 == kickstand* ]]; }
# The data phase serve reports in its "tftp listening" log line (src/tftp/server.ts).
ks_phase() { echo "data phase: $(grep -o '"dataPhase":"[^"]*"' "$WORK/$1.log" | head -1 | cut -d'"' -f4)"; }

client() { # ID PORT OUT -> command
  case $1 in
    curl-512) echo "curl -sS --tftp-blksize 512 -o $3 tftp://127.0.0.1:$2/$FILE";;
    curl-1468) echo "curl -sS --tftp-blksize 1468 -o $3 tftp://127.0.0.1:$2/$FILE";;
    atftp-1468-w16) echo "atftp --option \"blksize 1468\" --option \"windowsize 16\" -g -r $FILE -l $3 127.0.0.1 $2";;
  esac
}
median() { sort -n | awk '{a[NR]=$1} END{ if(NR==0){print 0} else if(NR%2){print a[(NR+1)/2]} else {print (a[NR/2]+a[NR/2+1])/2} }'; }

RES=$WORK/res.tsv; : >"$RES"
one() { # SERVER CLIENT -> appends the wall time (us) of one download to $WORK/t.SERVER.CLIENT
  local s=$1 c=$2 port out t0 t1 c0 c1; port=$(port_of "$s"); out=$DL/single.bin
  rm -f "$out"; is_ks "$s" && c0=$(ks_cpu "$s")
  t0=$(date +%s%N)
  ip netns exec "$NS" "${CP[@]}" timeout 120 bash -c "$(client "$c" "$port" "$out")" >/dev/null 2>&1 || echo FAILED >>"$WORK/bad.$s.$c"
  t1=$(date +%s%N)
  is_ks "$s" && { c1=$(ks_cpu "$s"); awk -v a="$c0" -v b="$c1" 'BEGIN{print b-a}' >>"$WORK/cpu.$s.$c"; }
  cmp -s "$out" "$ROOT/$FILE" || echo MISMATCH >>"$WORK/bad.$s.$c"
  echo $(( (t1 - t0) / 1000 )) >>"$WORK/t.$s.$c"
}
summarize() { # SERVER CLIENT
  local s=$1 c=$2 med mibs ok=ok cpu=""
  med=$(median <"$WORK/t.$s.$c")
  mibs=$(awk -v m="$SIZE" -v us="$med" 'BEGIN{printf "%.1f", m/(us/1e6)}')
  [ -s "$WORK/bad.$s.$c" ] && ok=$(sort -u "$WORK/bad.$s.$c" | tr '\n' ' ')
  is_ks "$s" && cpu=$(median <"$WORK/cpu.$s.$c")
  printf '%s\t%s\t%s\t%s\t%s\n' "$s" "$c" "$mibs" "$ok" "$cpu" >>"$RES"
  log "  $s $c: $mibs MiB/s (median of $RUNS, $ok)${cpu:+, server CPU ${cpu} s}"
}
conc() { # SERVER
  local s=$1 port t0 t1 fails=0 i pids=() c0 c1 cpu=""; port=$(port_of "$s")
  is_ks "$s" && c0=$(ks_cpu "$s")
  t0=$(date +%s%N)
  for i in $(seq 1 "$CONC"); do
    ip netns exec "$NS" "${CP[@]}" timeout 180 bash -c "$(client curl-1468 "$port" "$DL/c$i")" >/dev/null 2>&1 &
    pids+=($!)
  done
  wait "${pids[@]}" 2>/dev/null
  t1=$(date +%s%N)
  is_ks "$s" && { c1=$(ks_cpu "$s"); cpu=$(awk -v a="$c0" -v b="$c1" 'BEGIN{printf "%.2f", b-a}'); }
  for i in $(seq 1 "$CONC"); do cmp -s "$DL/c$i" "$ROOT/$FILE" || fails=$((fails + 1)); rm -f "$DL/c$i"; done
  local agg; agg=$(awk -v n="$CONC" -v f="$fails" -v m="$SIZE" -v ns="$((t1 - t0))" 'BEGIN{printf "%.1f", (n-f)*m/(ns/1e9)}')
  printf '%s\tconc-%s\t%s\t%s\t%s\n' "$s" "$CONC" "$agg" "$([ "$fails" = 0 ] && echo ok || echo "$fails failed")" "$cpu" >>"$RES"
  log "  $s $CONC x curl-1468: aggregate $agg MiB/s ($fails failed)${cpu:+, server CPU ${cpu} s}"
}

IFS=, read -ra LIST <<<"$SERVERS"
USED=()
# All servers run at once (different ports, all pinned to CPU 1; an idle one costs nothing) and the
# runs are interleaved server by server, so a change in machine load hits every server alike.
for s in "${LIST[@]}"; do
  available "$s" || { log "$s not available, skipped"; continue; }
  start "$s" && USED+=("$s")
  if is_ks "$s" && [ -n "${PIDS[$s]:-}" ]; then
    phase=$(ks_phase "$s")
    log "$s $phase"
    [ "$s" = kickstand ] && [ "$phase" != 'data phase: native for plain files' ] && log "WARNING: kickstand is not on the native path ($phase): build the addon (npm rebuild) for the intended figures"
  fi
done
CLIENTS=(curl-512 curl-1468 atftp-1468-w16)
for c in "${CLIENTS[@]}"; do
  log "== $c"
  for s in "${USED[@]}"; do one "$s" "$c"; done # warm-up (not counted)
  for s in "${USED[@]}"; do rm -f "$WORK/t.$s.$c" "$WORK/bad.$s.$c" "$WORK/cpu.$s.$c"; done
  for _ in $(seq 1 "$RUNS"); do for s in "${USED[@]}"; do one "$s" "$c"; done; done
  for s in "${USED[@]}"; do summarize "$s" "$c"; done
done
if [ "$CONC" -gt 0 ]; then
  log "== $CONC simultaneous curl-1468"
  for s in "${USED[@]}"; do conc "$s"; done
fi

get() { awk -F'\t' -v s="$1" -v c="$2" '$1==s && $2==c {print $3}' "$RES"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (a>0 && b>0) printf "%.2f×", a/b; else print "n/a"}'; }
{
  echo "### tftp.sh run $(date -u +%Y-%m-%dT%H:%MZ): ${SIZE} MiB file, median of $RUNS, loopback in a netns"
  echo
  echo "- machine: $(nproc) CPUs, $(uname -r), node $(node -v); servers pinned to CPU 1, clients to CPU 0; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "- all servers run at once on their own ports; every run goes server by server (interleaved), after one warm-up download each"
  echo "- kickstand CPU: utime+stime of the node process (all threads), median s per transfer (conc: whole run)"
  for s in "${USED[@]}"; do is_ks "$s" && echo "- $s $(ks_phase "$s")"; done
  for s in "${USED[@]}"; do echo "- $s: \`$(cmd_of "$s" | sed "s#$ROOT#ROOT#g; s#$WORK#WORK#g; s#$REPO/##g; s#${XDG_CACHE_HOME:-$HOME/.cache}/pxe-peer-bench#\$CACHE#g; s#$HOME/.cache/kickstand-bench#\$CACHE#g")\`"; done
  echo "- clients: \`$(client curl-512 PORT OUT)\`, \`$(client curl-1468 PORT OUT)\`, \`$(client atftp-1468-w16 PORT OUT)\`; $CONC simultaneous = curl-1468"
  echo
  KSS=(); for s in "${USED[@]}"; do is_ks "$s" && KSS+=("$s"); done
  printf '| client |'; for s in "${USED[@]}"; do printf ' %s MiB/s |' "$s"; done; printf ' kickstand ÷ hpa | kickstand ÷ atftpd | kickstand ÷ dnsmasq |'
  for s in "${KSS[@]}"; do printf ' %s CPU s |' "$s"; done; echo
  printf '|---|'; for _ in "${USED[@]}"; do printf -- '---|'; done; printf -- '---|---|---|'; for _ in "${KSS[@]}"; do printf -- '---|'; done; echo
  for c in curl-512 curl-1468 atftp-1468-w16 "conc-$CONC"; do
    [ "$c" = "conc-0" ] && continue
    printf '| %s |' "$c"
    for s in "${USED[@]}"; do printf ' %s%s |' "$(get "$s" "$c")" "$(awk -F'\t' -v s="$s" -v c="$c" '$1==s && $2==c && $4!="ok" {print " ("$4")"}' "$RES")"; done
    k=$(get kickstand "$c")
    printf ' %s | %s | %s |' "$(ratio "$k" "$(get hpa "$c")")" "$(ratio "$k" "$(get atftpd "$c")")" "$(ratio "$k" "$(get dnsmasq "$c")")"
    for s in "${KSS[@]}"; do printf ' %s |' "$(awk -F'\t' -v s="$s" -v c="$c" '$1==s && $2==c {print $5}' "$RES")"; done
    echo
  done
} >"$WORK/report.md"
cat "$WORK/report.md"
[ -n "$OUT" ] && cp "$WORK/report.md" "$OUT"

if [ "$PEER" = 1 ]; then
  PB=$REPO/../shared/peer-bench/tftp-peers.sh
  if [ -x "$PB" ]; then
    log "running $PB with the candidate"
    (cd "$REPO" && "$PB" --candidate "$KS_CMD" --candidate-name kickstand --sizes 32 --runs "$RUNS")
  else
    log "no ../shared/peer-bench/tftp-peers.sh here: skipped"
  fi
fi
exit 0
