#!/usr/bin/env bash
# bench/http.sh - boot-asset HTTP benchmark (not a test): `kickstand serve`'s /images against
# nginx in one run, same clients, alternating rounds so machine load hits both alike. Kickstand
# runs compiled (bin/kickstand, dist/) with an HTTP-only config (DHCP and TFTP off).
#   1. single stream: curl downloads a 512 MiB file (MiB/s from curl's own time_total)
#   2. range rate:    wrk -t2 -c64 with `Range: bytes=1048576-2097151` (1 MiB of the file)
#   3. small rate:    wrk -t2 -c64 on a 4 KiB file (informative)
# Files live on tmpfs (/dev/shm) and are read once before timing. Loopback only, ports
# 16180 (nginx) and 16183 (Kickstand) by default. Standalone: needs node, curl, wrk, nginx
# (Debian nginx-light). With --peers it also runs ../shared/peer-bench/http-peers.sh when present.
set -u -o pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)

ROUNDS=5; WRK_ROUNDS=3; DUR=10; NGX_PORT=16180; KS_PORT=16183; OUT=""; PEERS=0; KEEP=0; VARIANTS=0
usage() {
  cat <<'USAGE'
usage: bench/http.sh [options]
  --rounds N       single-stream downloads per server, alternating (default 5, after 1 warm-up each)
  --wrk-rounds N   wrk runs per server and test, alternating (default 3)
  --duration S     seconds per wrk run (default 10)
  --nginx-port P   (default 16180)    --ks-port P   (default 16183)
  --out FILE       also write the markdown report to FILE
  --variants       also measure Kickstand without sendfile (KICKSTAND_NATIVE=off: the copy path
                   used when the native addon is not built, port 16186)
  --peers          afterwards run ../shared/peer-bench/http-peers.sh --servers nginx --candidate …
  --keep           keep the work dir (files on /dev/shm)
USAGE
}
while [ $# -gt 0 ]; do
  case $1 in
    --rounds) ROUNDS=$2; shift 2;;
    --wrk-rounds) WRK_ROUNDS=$2; shift 2;;
    --duration) DUR=$2; shift 2;;
    --nginx-port) NGX_PORT=$2; shift 2;;
    --ks-port) KS_PORT=$2; shift 2;;
    --out) OUT=$2; shift 2;;
    --peers) PEERS=1; shift;;
    --variants) VARIANTS=1; shift;;
    --keep) KEEP=1; shift;;
    -h|--help) usage; exit 0;;
    *) usage >&2; exit 2;;
  esac
done
for c in node curl wrk nginx awk cmp; do command -v "$c" >/dev/null || { echo "missing: $c" >&2; exit 1; }; done
log() { printf '[http.sh %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

BASE=/dev/shm; [ -w "$BASE" ] || BASE=${TMPDIR:-/tmp}
WORK=$(mktemp -d "$BASE/ks-http-bench.XXXXXX")
ROOT=$WORK/root; mkdir -p "$ROOT" "$WORK/ngx/tmp"; chmod 755 "$WORK" "$ROOT" # nginx workers run as www-data
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
  [ "$KEEP" = 1 ] && log "kept $WORK" || rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log "building dist/ with tsconfig.json (src/ and bench/; the servers run compiled, as the daemon does)"
(cd "$REPO" && npx tsc -p tsconfig.json) || { log "tsc failed"; exit 1; }
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
log "creating files in $WORK (512 MiB random)"
head -c $((512 * 1048576)) /dev/urandom >"$ROOT/big.bin"
head -c 4096 /dev/urandom >"$ROOT/small.bin"
dd if="$ROOT/big.bin" of="$WORK/slice.bin" bs=1048576 skip=1 count=1 status=none
chmod 644 "$ROOT"/*.bin; cat "$ROOT/big.bin" >/dev/null

wait_port() { # PORT PID
  for _ in $(seq 1 300); do
    kill -0 "$2" 2>/dev/null || return 1
    curl -s -o /dev/null "http://127.0.0.1:$1/small.bin" && return 0
    sleep 0.1
  done
  return 1
}

# nginx with the peer script's settings (Debian defaults: sendfile, tcp_nopush, access log).
cat >"$WORK/ngx/nginx.conf" <<NGX
worker_processes auto;
pid $WORK/ngx/nginx.pid;
error_log $WORK/ngx/error.log;
events { worker_connections 768; }
http {
  sendfile on; tcp_nopush on; types_hash_max_size 2048;
  include /etc/nginx/mime.types; default_type application/octet-stream;
  access_log $WORK/ngx/access.log; gzip on;
  client_body_temp_path $WORK/ngx/tmp/cb; proxy_temp_path $WORK/ngx/tmp/px; fastcgi_temp_path $WORK/ngx/tmp/fc;
  uwsgi_temp_path $WORK/ngx/tmp/uw; scgi_temp_path $WORK/ngx/tmp/sc;
  server { listen 127.0.0.1:$NGX_PORT; root $ROOT; }
}
NGX
nginx -c "$WORK/ngx/nginx.conf" -p "$WORK/ngx" -e "$WORK/ngx/error.log" -g 'daemon off;' &
PIDS+=($!); wait_port "$NGX_PORT" "${PIDS[-1]}" || { log "nginx did not start"; exit 1; }
declare -A SPID=([nginx]=${PIDS[-1]})

# Kickstand: HTTP only; listen address, images and state directory come in as KICKSTAND_*
# overrides (src/config/env.ts), so the same config serves the peer script's --candidate.
cat >"$WORK/kickstand-http.yaml" <<YAML
network: { address: 127.0.0.1, subnet: 127.0.0.0/24, pool: { start: 127.0.0.100, end: 127.0.0.199 } }
dhcp: { mode: 'off' }
tftp: { enabled: false }
kickstartsDir: $REPO/kickstarts
log: { level: warn }
YAML
ks_cmd() { # PORT ROOT -> command line
  echo "env KICKSTAND_HTTP__LISTEN=127.0.0.1:$1 KICKSTAND_API__LISTEN=127.0.0.1:0 KICKSTAND_IMAGES_DIR=$2 KICKSTAND_STATE_DIR=$WORK/state-$1 node bin/kickstand --config $WORK/kickstand-http.yaml serve"
}
start_node() { # NAME PORT [ENV...]
  local name=$1 port=$2; shift 2
  (cd "$REPO" && exec env "$@" $(ks_cmd "$port" "$ROOT")) >"$WORK/$name.log" 2>&1 &
  PIDS+=($!); wait_port "$port" "${PIDS[-1]}" || { log "$name did not start"; cat "$WORK/$name.log" >&2; exit 1; }
  SPID[$name]=${PIDS[-1]}
}
TCK=$(getconf CLK_TCK)
cpu_s() { # NAME -> CPU seconds (user+system, all threads) of the server process and its children (nginx workers)
  local p total=0
  for p in "${SPID[$1]}" $(pgrep -P "${SPID[$1]}"); do
    total=$(( total + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0) ))
  done
  awk -v t="$total" -v k="$TCK" 'BEGIN{printf "%.2f", t/k}'
}
SERVERS=(nginx kickstand)
declare -A URL=([nginx]="http://127.0.0.1:$NGX_PORT" [kickstand]="http://127.0.0.1:$KS_PORT/images")
start_node kickstand "$KS_PORT"
if [ "$VARIANTS" = 1 ]; then
  start_node kickstand-copy 16186 KICKSTAND_NATIVE=off; URL[kickstand-copy]="http://127.0.0.1:16186/images"
  SERVERS+=(kickstand-copy)
fi
RANGE='bytes=1048576-2097151'

# Correctness first: a benchmark of wrong bytes is worthless.
for s in "${SERVERS[@]}"; do
  curl -sS -H "Range: $RANGE" -o "$WORK/probe" "${URL[$s]}/big.bin"; cmp "$WORK/probe" "$WORK/slice.bin" >&2 || { log "$s: Range body mismatch"; exit 1; }
  curl -sS "${URL[$s]}/big.bin" | cmp -s - "$ROOT/big.bin" || { log "$s: full body mismatch"; exit 1; }
done
log "bodies byte-exact on: ${SERVERS[*]}"

median() { sort -g | awk '{a[NR]=$1} END{ if (NR==0) print 0; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2 }'; }
declare -A T RPS SRPS CPU_DL CPU_RANGE
for s in "${SERVERS[@]}"; do curl -sS -o /dev/null "${URL[$s]}/big.bin"; done # warm-up
for r in $(seq 1 "$ROUNDS"); do
  for s in "${SERVERS[@]}"; do
    c0=$(cpu_s "$s")
    t=$(curl -sS -o /dev/null -w '%{time_total}' "${URL[$s]}/big.bin")
    CPU_DL[$s]="${CPU_DL[$s]:-} $(awk -v a="$c0" -v b="$(cpu_s "$s")" 'BEGIN{printf "%.2f", b-a}')"
    T[$s]="${T[$s]:-} $t"
    log "round $r $s single stream: $(awk -v t="$t" 'BEGIN{printf "%.0f MiB/s", 512/t}')"
  done
done
wrk_rps() { wrk -t2 -c64 -d"${DUR}s" "$@" 2>&1 | awk '/requests in/{n=$1} /^Requests\/sec:/{r=$2} END{print r, n}'; }
for r in $(seq 1 "$WRK_ROUNDS"); do
  for s in "${SERVERS[@]}"; do
    c0=$(cpu_s "$s")
    read -r v n < <(wrk_rps -H "Range: $RANGE" "${URL[$s]}/big.bin"); RPS[$s]="${RPS[$s]:-} ${v:-0}"
    CPU_RANGE[$s]="${CPU_RANGE[$s]:-} $(awk -v a="$c0" -v b="$(cpu_s "$s")" -v n="${n:-0}" 'BEGIN{ if (n>0) printf "%.0f", (b-a)*1e6/n; else print 0}')"
    log "round $r $s range 1 MiB: ${v:-?} req/s"
  done
done
for s in "${SERVERS[@]}"; do
  read -r v _ < <(wrk_rps "${URL[$s]}/small.bin"); SRPS[$s]="${v:-0}"; log "$s 4 KiB GET: ${v:-?} req/s"
done

{
  echo "### bench/http.sh — $(date -u +%Y-%m-%dT%H:%MZ)"
  echo
  echo "- machine: $(nproc) CPUs, load average at start $LOAD0, at end $(cut -d' ' -f1-3 /proc/loadavg); node $(node -v), $(nginx -v 2>&1 | awk '{print $3}'), $(curl --version | head -1 | awk '{print $1, $2}'), $(wrk -v 2>&1 | head -1 | awk '{print $1, $2}')"
  echo "- files on tmpfs: big.bin 512 MiB random, small.bin 4 KiB; Kickstand: \`$(ks_cmd "$KS_PORT" ROOT | sed "s#$WORK#WORK#g")\`"
  echo "- single stream: \`curl -sS -o /dev/null -w '%{time_total}' URL/big.bin\`, $ROUNDS alternating rounds after a warm-up"
  echo "- range: \`wrk -t2 -c64 -d${DUR}s -H 'Range: $RANGE' URL/big.bin\`, $WRK_ROUNDS alternating rounds; 4 KiB: one \`wrk -t2 -c64 -d${DUR}s URL/small.bin\` each"
  echo
  echo "| server | single stream MiB/s (median; runs) | server CPU s per 512 MiB download (median) | Range 1 MiB req/s (median; runs) | server CPU µs per Range request (median) | 4 KiB GET req/s |"
  echo "| --- | --- | --- | --- | --- | --- |"
  for s in "${SERVERS[@]}"; do
    tm=$(tr ' ' '\n' <<<"${T[$s]}" | grep . | median)
    runs=$(tr ' ' '\n' <<<"${T[$s]}" | grep . | awk '{printf "%s%.0f", (NR>1?", ":""), 512/$1}')
    rm_=$(tr ' ' '\n' <<<"${RPS[$s]}" | grep . | median)
    cd_=$(tr ' ' '\n' <<<"${CPU_DL[$s]}" | grep . | median); cr=$(tr ' ' '\n' <<<"${CPU_RANGE[$s]}" | grep . | median)
    echo "| $s | $(awk -v t="$tm" 'BEGIN{printf "%.0f", 512/t}') ($runs) | $cd_ | $(printf '%.0f' "$rm_") ($(echo ${RPS[$s]} | sed 's/ /, /g')) | $(printf '%.0f' "$cr") | ${SRPS[$s]} |"
  done
  tn=$(tr ' ' '\n' <<<"${T[nginx]}" | grep . | median); tk=$(tr ' ' '\n' <<<"${T[kickstand]}" | grep . | median)
  rn=$(tr ' ' '\n' <<<"${RPS[nginx]}" | grep . | median); rk=$(tr ' ' '\n' <<<"${RPS[kickstand]}" | grep . | median)
  echo
  echo "Kickstand / nginx: single stream **$(awk -v a="$tn" -v b="$tk" 'BEGIN{printf "%.2f", a/b}')×** (goal ≥ 0.8×, and ≥ 1,192 MiB/s: $(awk -v t="$tk" 'BEGIN{printf "%.0f", 512/t}') MiB/s), range req/s **$(awk -v a="$rk" -v b="$rn" 'BEGIN{printf "%.2f", a/b}')×** (goal ≥ 0.5×), 4 KiB req/s $(awk -v a="${SRPS[kickstand]}" -v b="${SRPS[nginx]}" 'BEGIN{ if (b>0) printf "%.2f", a/b; else print "-"}')×."
} >"$WORK/report.md"
cat "$WORK/report.md"
[ -n "$OUT" ] && cp "$WORK/report.md" "$OUT"

PEER=$REPO/../shared/peer-bench/http-peers.sh
if [ "$PEERS" = 1 ]; then
  if [ -x "$PEER" ] || [ -f "$PEER" ]; then
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; PIDS=()
    log "running the shared peer script with Kickstand as candidate"
    bash "$PEER" --servers nginx --candidate-name kickstand --candidate-path /images \
      --candidate "cd '$REPO' && exec $(ks_cmd '{port}' '{root}')"
  else
    log "no peer script at $PEER; skipped"
  fi
fi
