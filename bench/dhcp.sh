#!/usr/bin/env bash
# bench/dhcp.sh - DHCPv4 DORA/s at zero drops and latency: Kickstand vs Kea, standalone (no
# ../shared needed), in ONE run: same machine, same client (perfdhcp), same rates, same topology.
#
#   netns ksd-s-<pid>: veth 198.19.0.1/16  <- server under test (UDP 67), fresh per trial
#   netns ksd-c-<pid>: veth 198.19.0.2/16  <- perfdhcp as a relay agent (-l, giaddr 198.19.0.2):
#                      DISCOVER/REQUEST are unicast to the server, replies unicast back to :67
# Relayed subnet 198.19.0.0/16, pool 198.19.1.1-198.19.240.254 (61,438 addresses). DISCOVERs carry
# PXE options (60 PXEClient:Arch:00007, 93 = 0007 x64 UEFI, 94 UNDI) so the PXE path is exercised.
#
# Servers:
#   kickstand  `kickstand serve` with a DHCP-only config (TFTP off; HTTP on the server namespace's
#              loopback, where /metrics gives the event-loop delay), compiled (bin/kickstand, dist/:
#              no TS loader in the hot path; --ks-runner tsx runs src/cli/main.ts under
#              `node --import tsx` instead). It warms its DHCP path up over loopback before binding
#              port 67 (src/dhcp/warmup.ts; the trial starts once 67 is bound); --ks-cold
#              (dhcp.warmUp: false) skips that. The SQLite store is
#              a file on disk: WAL + synchronous=NORMAL, and the group committer fsyncs the -wal
#              file on the libuv thread pool before a batch is acknowledged
#              (src/store/sqlite/group-commit.ts), so every lease is durable before its ACK.
#   kea        kea-dhcp4 2.x, memfile lease backend, persist=true, lfc-interval 3600 (the default;
#              never fires within a run), INFO log (one line per lease) to a file, as shipped.
#              Kea appends its lease CSV without fsync.
# --store postgres: both servers keep their leases in PostgreSQL instead (the comparison for
#              scale-out, docs/scale-out.md). The script initdb's a private cluster (Debian's
#              postgresql, as the postgres user, data under the work dir) listening on 127.0.0.1:5432
#              inside the server namespace, as shipped (fsync on, synchronous_commit on), pinned to
#              the server's CPU; each trial gets a fresh database, dropped after it.
#   kickstand  store: {kind: postgres, url}: each binding is its own transaction (SELECT … FOR
#              UPDATE, INSERT/UPDATE, COMMIT) committed before the DHCPACK; up to store.poolSize (8)
#              in flight.
#   kea        lease-database {type: postgresql} (libkea-pgsql; schema by `kea-admin db-init pgsql`):
#              each lease its own autocommit statement, committed before the DHCPACK; single-threaded
#              (the 2.2 default) unless --kea-threads.
#              The report names the ratio Kickstand-on-PostgreSQL / Kea-on-PostgreSQL and adds, per
#              trial, the lease rows left in the database and the cluster's CPU.
# Method: for each rate in --rates, one fixed-rate trial per server (order alternates per rate so
# load noise hits both): fresh server + empty lease store, `perfdhcp -r RATE -p PERIOD -R CLIENTS`.
# A server stops at its first rate with drops > 0 (after --retries). Reported: highest zero-drop rate,
# its achieved DORA/s, perfdhcp avg/max delays, server CPU, and Kickstand/Kea.
#
# usage: sudo bench/dhcp.sh [--rates 500,1000,...] [--period S] [--clients N] [--deadline S]
#          [--retries N] [--ks-runner dist|tsx] [--no-pin] [--profile RATE] [--peers] [--keep]
#          [--sync-interval MS] [--checkpoint-period MS] [--perf] [--ks-cold] [--out FILE]
#          [--store file|postgres] [--kea-threads N] [--ha] [--reserve-offers true|false]
#   --store S       file (default): Kickstand's SQLite file vs Kea's memfile; postgres: both on one
#                   private PostgreSQL cluster (needs Debian postgresql, kea-admin, psql, runuser);
#                   its defaults: --rates 100,200,400,600,800,1000,1500,2000,3000,4000,6000 --deadline 600
#   --reserve-offers true|false  with --store postgres: Kickstand's dhcp.reserveOffers (default:
#                   unset, which is on for PostgreSQL: one more database write per new client;
#                   false compares like with like against Kea, which writes only the binding)
#   --kea-threads N Kea multi-threading with N threads (default 0: off, Kea 2.2's default)
#   --ha            with --store postgres: after the A/B search, the HA pair's combined rate over the
#                   same --rates: two `kickstand serve` on one database (A on 198.19.0.1, B on
#                   198.19.250.1), relay A -> A and relay B (198.19.250.2, own namespace) -> B at
#                   half the rate each, disjoint client MACs, one pool. Reports the highest
#                   zero-drop combined rate, the highest at which every request was answered (ACK
#                   or NAK: a NAK is a lost commit race between the daemons), NAKs per daemon, and
#                   clients with two bound rows afterwards (must be 0). Gets what --deadline leaves.
#   --retries N (default 1): a rate with drops is re-run up to N times (shared machine: one
#                   scheduler stall drops packets); it fails only if every attempt drops.
#   --sync-interval MS  Kickstand's least time between WAL fsyncs (store.syncIntervalMs; store
#                   default when omitted; 0 = one commit and fsync per event-loop turn)
#   --checkpoint-period MS  Kickstand's worker-thread WAL checkpoint period
#                   (store.checkpointPeriodMs; store default when omitted; 0 = SQLite's own
#                   checkpoints inside COMMIT, the earlier behaviour)
#   --ks-cold       start Kickstand without its JIT warm-up (dhcp.warmUp: false): how a cold process fares
#   --profile RATE  after the search, run Kickstand once at RATE under node --cpu-prof; print top
#                   self-time functions.
#   --perf          with --profile: also `perf record` that run (all threads, kernel included;
#                   needs perf) and print the top objects and symbols.
#   --peers         also run ../shared/peer-bench/dhcp-peers.sh --candidate (Kickstand) when that
#                   file exists (optional extra, skipped otherwise; it gets what is left of
#                   --deadline, so pass e.g. --deadline 600 with it)
# Each trial also logs Kickstand's event-loop delay (kickstand_nodejs_eventloop_lag_* from
# /metrics, read when the server is up and again after perfdhcp: prom-client's histogram, reset
# at each read, sampled every 10 ms, and each value includes that 10 ms period; the old stand-in
# daemon sampled every 1 ms) and counts UDP receive-buffer drops
# (RcvbufErrors) in the server's and the client's namespace (last table column).
# Needs root, ip, perfdhcp (Debian kea-admin), kea-dhcp4 (kea-dhcp4-server), curl, node 20;
# --store postgres also Debian postgresql (initdb, pg_ctl, psql) and runuser.
# Full PostgreSQL figure (quiet machine, 5-10 min): sudo bench/dhcp.sh --store postgres --ha --out /tmp/dhcp-pg.md
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RATES=500,1000,2000,3000,4000,6000,8000,11000; PERIOD=5; CLIENTS=60000; DEADLINE=300
RESERVE=""; RETRIES=1; RUNNER=dist; PIN=1; PROFILE=""; PEERS=0; KEEP=0; OUT=""; SYNC_INTERVAL=""; CKPT_PERIOD=""; PERF=0; WARMUP=1
STORE=file; KEA_THREADS=0; RATES_SET=0; DEADLINE_SET=0; HA=0
while [ $# -gt 0 ]; do
  case $1 in
    --rates) RATES=$2; RATES_SET=1; shift 2;;   --period) PERIOD=$2; shift 2;;
    --clients) CLIENTS=$2; shift 2;;    --deadline) DEADLINE=$2; DEADLINE_SET=1; shift 2;;
    --ks-runner) RUNNER=$2; shift 2;;   --no-pin) PIN=0; shift;;
    --profile) PROFILE=$2; shift 2;;    --peers) PEERS=1; shift;;
    --keep) KEEP=1; shift;;             --out) OUT=$2; shift 2;;
    --reserve-offers) RESERVE=$2; shift 2;;
    --retries) RETRIES=$2; shift 2;;    --sync-interval) SYNC_INTERVAL=$2; shift 2;;
    --checkpoint-period) CKPT_PERIOD=$2; shift 2;;   --perf) PERF=1; shift;;
    --ks-cold) WARMUP=0; shift;;
    --store) STORE=$2; shift 2;;        --kea-threads) KEA_THREADS=$2; shift 2;;
    --ha) HA=1; shift;;
    -h|--help) awk 'NR > 1 && /^set -euo/ { exit } NR > 1' "$0"; exit 0;;
    *) echo "dhcp.sh: unknown option $1 (see -h)" >&2; exit 2;;
  esac
done
T0=$(date +%s)
log() { printf '[dhcp.sh %4ss] %s\n' "$(( $(date +%s) - T0 ))" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
left() { echo $(( DEADLINE - ($(date +%s) - T0) )); }
[ "$(id -u)" = 0 ] || die "must run as root (network namespaces)"
for c in ip ss perfdhcp kea-dhcp4 node taskset timeout awk od curl; do command -v "$c" >/dev/null || die "missing $c"; done
case $RUNNER in dist|tsx) ;; *) die "--ks-runner must be dist or tsx";; esac
case $STORE in file|postgres) ;; *) die "--store must be file or postgres";; esac
[[ $KEA_THREADS =~ ^[0-9]+$ ]] || die "--kea-threads must be a number"
PGBIN=""
if [ "$STORE" = postgres ]; then
  # A commit per lease with its WAL flush bounds both servers far below their memfile/SQLite rates:
  # a finer grid from lower down, and the time for it.
  [ "$RATES_SET" = 1 ] || RATES=100,200,400,600,800,1000,1500,2000,3000,4000,6000
  [ "$DEADLINE_SET" = 1 ] || DEADLINE=600
  PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  [ -n "$PGBIN" ] && [ -x "$PGBIN/initdb" ] || die "missing the PostgreSQL server (Debian postgresql: /usr/lib/postgresql/*/bin/initdb)"
  for c in runuser kea-admin psql; do command -v "$c" >/dev/null || die "missing $c"; done
  id -u postgres >/dev/null 2>&1 || die "no postgres user (Debian's postgresql package creates it)"
  [ "$PEERS" = 1 ] && die "--peers is for --store file only"
fi
[ "$HA" = 0 ] || [ "$STORE" = postgres ] || die "--ha needs --store postgres (the pair shares one database)"

# ---- state + cleanup (runs on exit, error, Ctrl-C) -----------------------------------------
TAG=$$; NS_S=ksd-s-$TAG; NS_C=ksd-c-$TAG; IF_S=ksds$TAG; IF_C=ksdc$TAG
NS_C2=ksd-b-$TAG; IF_S2=ksdt$TAG; IF_C2=ksdu$TAG   # --ha: daemon B's link and relay B
SRV_IP2=198.19.250.1; REL_IP2=198.19.250.2         # outside the pool, inside the relayed subnet
SRV_IP=198.19.0.1; REL_IP=198.19.0.2; SUBNET=198.19.0.0/16; POOL_START=198.19.1.1; POOL_END=198.19.240.254
WORK=$(mktemp -d "${TMPDIR:-/var/tmp}/ks-dhcp-bench.XXXXXX"); chmod 755 "$WORK"
SPID=""; PDPID=""; PERFPID=""; SPID2=""; PDPID2=""
stop_pid() { # PID: TERM, wait up to 5 s, then KILL (only processes this script started)
  local p=$1 i
  [ -n "$p" ] && kill -0 "$p" 2>/dev/null || return 0
  kill -TERM "$p" 2>/dev/null || true
  for i in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true
}
PGDIR=$WORK/pg; PGPID=""   # --store postgres: the private cluster (data dir, socket, log) and its postmaster
pg_stop() { # the cluster this script started: fast shutdown, then its postmaster by PID
  [ -n "$PGPID" ] || return 0
  ip netns exec "$NS_S" runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDIR/data" -m fast -w -t 20 stop >/dev/null 2>&1 || true
  stop_pid "$PGPID"; PGPID=""
}
cleanup() {
  trap - EXIT INT TERM
  stop_pid "$PERFPID"; stop_pid "$PDPID"; stop_pid "$PDPID2"; stop_pid "$SPID"; stop_pid "$SPID2"; pg_stop
  ip netns del "$NS_S" 2>/dev/null || true; ip netns del "$NS_C" 2>/dev/null || true
  [ "$HA" = 0 ] || ip netns del "$NS_C2" 2>/dev/null || true
  if [ "$KEEP" = 1 ]; then log "work dir kept: $WORK"; else rm -rf -- "$WORK"; fi
}
trap cleanup EXIT; trap 'log interrupted; exit 130' INT TERM

SRV_PIN=(); CLI_PIN=()
if [ "$PIN" = 1 ] && [ "$(nproc)" -ge 2 ]; then SRV_PIN=(taskset -c 1); CLI_PIN=(taskset -c 0); fi
psi() { awk '/^some/{sub("avg60=","",$3); print $3 "%"}' /proc/pressure/cpu 2>/dev/null || echo n/a; }
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg); PSI0=$(psi); START=$(date -u '+%Y-%m-%d %H:%M UTC')

# ---- topology --------------------------------------------------------------------------------
ip netns add "$NS_S"; ip netns add "$NS_C"
ip link add "$IF_S" netns "$NS_S" type veth peer name "$IF_C" netns "$NS_C"
ip -n "$NS_S" addr add "$SRV_IP/16" dev "$IF_S"; ip -n "$NS_C" addr add "$REL_IP/16" dev "$IF_C"
ip -n "$NS_S" link set "$IF_S" up; ip -n "$NS_C" link set "$IF_C" up
ip -n "$NS_S" link set lo up; ip -n "$NS_C" link set lo up
if [ "$HA" = 1 ]; then   # relay B on its own link: 198.19.250.0/24 (a longer prefix than the /16, so replies take this link)
  ip netns add "$NS_C2"
  ip link add "$IF_S2" netns "$NS_S" type veth peer name "$IF_C2" netns "$NS_C2"
  ip -n "$NS_S" addr add "$SRV_IP2/24" dev "$IF_S2"; ip -n "$NS_C2" addr add "$REL_IP2/24" dev "$IF_C2"
  ip -n "$NS_S" link set "$IF_S2" up; ip -n "$NS_C2" link set "$IF_C2" up; ip -n "$NS_C2" link set lo up
fi

# ---- --store postgres: one private PostgreSQL cluster in the server namespace ----------------------
# As Debian ships it (fsync on, synchronous_commit on, shared_buffers 128 MB), trust auth, listening
# on the namespace's 127.0.0.1:5432 only; it runs as the postgres user (it refuses root) and is
# pinned to the server's CPU: the server and its database share one core, the client has the other.
# Each trial gets a fresh database (ks_N / kea_N), dropped after the trial.
PG_URL_BASE=postgres://kickstand@127.0.0.1:5432
pg_sql() { ip netns exec "$NS_S" psql -h 127.0.0.1 -p 5432 -U kickstand -d postgres -AtXq -v ON_ERROR_STOP=1 -c "$1"; }
if [ "$STORE" = postgres ]; then
  mkdir -p "$PGDIR"; chown postgres: "$PGDIR"
  runuser -u postgres -- "$PGBIN/initdb" -D "$PGDIR/data" -U kickstand --auth=trust -E UTF8 >"$WORK/initdb.log" 2>&1 ||
    { tail -5 "$WORK/initdb.log" >&2; die "initdb failed"; }
  ip netns exec "$NS_S" "${SRV_PIN[@]}" runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/log" -w -t 30 \
    -o "-p 5432 -k $PGDIR -c listen_addresses=127.0.0.1" start >/dev/null 2>&1 || { tail -5 "$PGDIR/log" >&2; die "PostgreSQL did not start"; }
  PGPID=$(head -1 "$PGDIR/data/postmaster.pid")
  log "PostgreSQL $("$PGBIN/postgres" -V | awk '{print $3}') up in $NS_S (postmaster $PGPID, data $PGDIR/data)"
fi

# ---- Kickstand daemon: `kickstand serve`, compiled once (or run under tsx) --------------------
KS_CMD=()
if [ "$RUNNER" = dist ]; then
  (cd "$REPO" && "$REPO/node_modules/.bin/tsc" -p tsconfig.json) || die "tsc failed"
  KS_CMD=(node "$REPO/bin/kickstand")
else
  KS_CMD=(node --import tsx "$REPO/src/cli/main.ts")
fi
KS_METRICS=http://127.0.0.1:8081/metrics   # the API listener (api.listen default), inside the server namespace
KS_SDIR=""                                 # the running Kickstand's stateDir (its api-token)
orNull() { [ -n "$1" ] && echo "$1" || echo null; }

# ---- servers ----------------------------------------------------------------------------------
SEQ=0; SDIR=""; DBNAME=""
kea_leasedb() { # $1 = dir
  if [ "$STORE" = postgres ]; then
    echo '{ "type": "postgresql", "name": "'"$DBNAME"'", "host": "127.0.0.1", "port": 5432, "user": "kickstand" }'
  else echo '{ "type": "memfile", "persist": true, "lfc-interval": 3600, "name": "'"$1"'/leases4.csv" }'; fi
}
kea_mt() {
  if [ "$KEA_THREADS" -gt 0 ]; then
    echo '"multi-threading": { "enable-multi-threading": true, "thread-pool-size": '"$KEA_THREADS"', "packet-queue-size": 64 },'
  else echo '"multi-threading": { "enable-multi-threading": false },'; fi
}
ks_store() {
  if [ "$STORE" = postgres ]; then echo "{ kind: postgres, url: \"$PG_URL_BASE/$DBNAME\" }"
  else echo "{ syncIntervalMs: $(orNull "$SYNC_INTERVAL"), checkpointPeriodMs: $(orNull "$CKPT_PERIOD") }"; fi
}
write_configs() { # $1 = dir
  cat >"$1/kea.json" <<JSON
{ "Dhcp4": {
  "interfaces-config": { "interfaces": [ "$IF_S" ] },
  "lease-database": $(kea_leasedb "$1"),
  $(kea_mt)
  "renew-timer": 900, "rebind-timer": 1800, "valid-lifetime": 3600,
  "next-server": "$SRV_IP", "boot-file-name": "ipxe.efi",
  "subnet4": [ { "id": 1, "subnet": "$SUBNET", "pools": [ { "pool": "$POOL_START - $POOL_END" } ],
      "option-data": [ { "name": "routers", "data": "$SRV_IP" } ] } ],
  "loggers": [ { "name": "kea-dhcp4", "severity": "INFO", "output_options": [ { "output": "$1/kea.log" } ] } ]
} }
JSON
  cat >"$1/kickstand.yaml" <<YAML
stateDir: $1
imagesDir: $1/images
kickstartsDir: $REPO/kickstarts
http: { listen: "127.0.0.1:8080", publicUrl: "http://$SRV_IP:8080" }
dhcp: { mode: authoritative, unknownHosts: discover, port: 67, loaders: { uefi: ipxe.efi, bios: undionly.kpxe }, warmUp: $( [ "$WARMUP" = 1 ] && echo true || echo false )$( [ -n "$RESERVE" ] && echo ", reserveOffers: $RESERVE" ) }
network: { address: $SRV_IP, subnet: $SUBNET, pool: { start: $POOL_START, end: $POOL_END }, gateway: $SRV_IP, leaseTime: 3600 }
tftp: { enabled: false }
store: $(ks_store)
log: { level: warn }
YAML
}
start_server() { # NAME [extra node flags...] -> SPID, SDIR
  local name=$1; shift
  SEQ=$((SEQ + 1)); SDIR=$WORK/$name.$SEQ; mkdir -p "$SDIR"; chmod 755 "$SDIR"
  if [ "$STORE" = postgres ]; then   # a fresh, empty database for this trial
    DBNAME=${name:0:3}_$SEQ; pg_sql "CREATE DATABASE $DBNAME" || die "CREATE DATABASE $DBNAME failed"
    if [ "$name" = kea ]; then   # Kea's own schema, as Kea's docs say: kea-admin db-init
      ip netns exec "$NS_S" kea-admin db-init pgsql -h 127.0.0.1 -P 5432 -u kickstand -p '' -n "$DBNAME" \
        >"$SDIR/kea-admin.log" 2>&1 || { tail -5 "$SDIR/kea-admin.log" >&2; die "kea-admin db-init pgsql failed"; }
    fi
  fi
  write_configs "$SDIR"
  case $name in
    kea) KEA_PIDFILE_DIR=$SDIR KEA_LOCKFILE_DIR=$SDIR ip netns exec "$NS_S" "${SRV_PIN[@]}" \
           kea-dhcp4 -c "$SDIR/kea.json" >"$SDIR/stdout.log" 2>&1 & SPID=$!;;
    kickstand) KS_SDIR=$SDIR; local cmd=("${KS_CMD[@]}"); [ $# -gt 0 ] && cmd=(node "$@" "${KS_CMD[@]:1}")
           (cd "$REPO" && exec ip netns exec "$NS_S" "${SRV_PIN[@]}" \
             "${cmd[@]}" --config "$SDIR/kickstand.yaml" serve) >"$SDIR/stdout.log" 2>&1 & SPID=$!;;
  esac
  local i
  for i in $(seq 150); do   # up to 15 s for UDP 67 to be bound in the server namespace
    kill -0 "$SPID" 2>/dev/null || { tail -5 "$SDIR"/*.log >&2; die "$name exited at start"; }
    if [ -n "$(ip netns exec "$NS_S" ss -Hlun 'sport = :67')" ]; then
      sleep 0.3; [ "$name" = kickstand ] && ks_loop >/dev/null   # resets the event-loop histogram
      return 0
    fi
    sleep 0.1
  done
  die "$name did not bind UDP 67 within 15 s"
}
# Kickstand's event-loop delay since the previous read of its /metrics (prom-client resets it).
# ks_metrics [STATEDIR URL]: one daemon's /metrics text (default: the single-server trial's).
ks_metrics() {
  # /metrics needs a token; the header goes in on stdin (never argv).
  printf 'Authorization: Bearer %s\n' "$(cat "${1:-$KS_SDIR}/api-token")" |
    ip netns exec "$NS_S" curl -sf -H @- "${2:-$KS_METRICS}"
}
ks_loop() {
  ks_metrics "$@" | awk '
    /^kickstand_nodejs_eventloop_lag_(p50|p99|max)_seconds / { split($1, n, "_"); v[n[5]] = sprintf("%.1f", $2 * 1000) }
    END { printf "loop-delay p50=%s p99=%s max=%s ms\n", v["p50"], v["p99"], v["max"] }'
}
cpu_s() { awk -v t="$(getconf CLK_TCK)" '{printf "%.2f", ($14+$15)/t}' "/proc/$1/stat" 2>/dev/null || echo 0; }

# ---- one trial: NAME RATE -> R_* globals; appends a row to trials.tsv -------------------------
hex() { printf '%s' "$1" | od -An -tx1 | tr -d ' \n'; }
PD=(perfdhcp -4 -l "$REL_IP" -R "$CLIENTS" -o "60,$(hex 'PXEClient:Arch:00007:UNDI:003016')" -o 93,0007 -o 94,010301)
printf 'time\tserver\trate\tDISCOVER sent\tACK rcvd\tdrops\tDORA/s\tavg ms DO/RA\tmax ms DO/RA\tserver CPU %%\tCPU µs/DORA\tUDP rcvbuf drops srv/cli%s\n' \
  "$( [ "$STORE" = postgres ] && printf '\tleases in DB\tPG CPU %%' )" >"$WORK/trials.tsv"
# Lease rows a server left in its trial database (Kea: lease4; Kickstand: bound rows of leases).
pg_db_leases() {
  local q="SELECT count(*) FROM leases WHERE state = 'bound'"; [ "$1" = kea ] && q="SELECT count(*) FROM lease4"
  ip netns exec "$NS_S" psql -h 127.0.0.1 -p 5432 -U kickstand -d "$2" -AtXq -v ON_ERROR_STOP=1 -c "$q"
}
# CPU seconds of this script's PostgreSQL cluster: the postmaster (with its reaped children) and
# its live children (the backends serving the server under test, WAL writer, checkpointer, ...).
pg_cpu_s() {
  [ -n "$PGPID" ] || { echo 0; return; }
  { awk '{print $14+$15+$16+$17}' "/proc/$PGPID/stat"
    for p in $(pgrep -P "$PGPID"); do awk '{print $14+$15}' "/proc/$p/stat" 2>/dev/null || true; done
  } | awk -v t="$(getconf CLK_TCK)" '{s += $1} END {printf "%.2f", s/t}'
}
# UDP datagrams a namespace's kernel dropped because a socket's receive buffer was full
# (RFC 4113 udpInErrors' RcvbufErrors): tells the server falling behind from the client doing so.
rcvbuf_errs() { ip netns exec "$1" awk '/^Udp:/ { if (h) { for (i = 1; i <= NF; i++) if (k[i] == "RcvbufErrors") print $i; exit } split($0, k); h = 1 }' /proc/net/snmp; }
# perfdhcp's summary as shell assignments R_DO_SENT, R_DO_RCV, R_DO_DROP, R_DO_AVG, R_DO_MAX, R_RA_*.
pd_vars() { awk '
    /Statistics for: DISCOVER-OFFER/ {s="DO"} /Statistics for: REQUEST-ACK/ {s="RA"}
    s!="" && /^sent packets:/ {v[s"_SENT"]=$3}   s!="" && /^received packets:/ {v[s"_RCV"]=$3}
    s!="" && /^drops:/ {v[s"_DROP"]=$2}
    s!="" && /^avg delay:/ && $3 ~ /^[0-9.]+$/ {v[s"_AVG"]=$3}
    s!="" && /^max delay:/ && $3 ~ /^[0-9.]+$/ {v[s"_MAX"]=$3}
    END { n=split("DO_SENT DO_RCV DO_DROP DO_AVG DO_MAX RA_SENT RA_RCV RA_DROP RA_AVG RA_MAX",K," ");
          for(i=1;i<=n;i++) printf "R_%s=%s\n", K[i], (K[i] in v)?v[K[i]]:"" }' "$1"; }
trial() {
  local name=$1 rate=$2 c0 c1 g0 g1 w0 w1 out s0 s1 k0 k1
  start_server "$name"
  s0=$(rcvbuf_errs "$NS_S"); k0=$(rcvbuf_errs "$NS_C")
  c0=$(cpu_s "$SPID"); g0=$(pg_cpu_s); w0=$(date +%s.%N)
  ip netns exec "$NS_C" "${CLI_PIN[@]}" timeout -k 2 $(( PERIOD + 15 )) "${PD[@]}" -r "$rate" -p "$PERIOD" \
    -W 1000000 "$SRV_IP" >"$WORK/pd-$SEQ-$name-$rate.txt" 2>&1 & PDPID=$!
  wait "$PDPID" || true; PDPID=""
  w1=$(date +%s.%N); c1=$(cpu_s "$SPID"); g1=$(pg_cpu_s)
  s1=$(rcvbuf_errs "$NS_S"); k1=$(rcvbuf_errs "$NS_C"); R_RCVBUF="$(( s1 - s0 ))/$(( k1 - k0 ))"
  R_LOOP=""; [ "$name" = kickstand ] && R_LOOP=$(ks_loop || true)
  stop_pid "$SPID"; SPID=""
  [ "$KEEP" = 1 ] || rm -f "$SDIR"/*.db* "$SDIR"/leases4.csv* "$SDIR"/kea.log
  R_LEASES=""
  if [ "$STORE" = postgres ]; then   # what the database holds after the trial, then drop it
    R_LEASES=$(pg_db_leases "$name" "$DBNAME" 2>/dev/null || echo "?")
    [ "$KEEP" = 1 ] || pg_sql "DROP DATABASE IF EXISTS $DBNAME WITH (FORCE)" || log "  (DROP DATABASE $DBNAME failed)"
  fi
  eval "$(pd_vars "$WORK/pd-$SEQ-$name-$rate.txt")"
  R_DROPS=$(( ${R_DO_DROP:-0} + ${R_RA_DROP:-0} ))
  R_OK=1; [ -n "$R_DO_SENT" ] && [ "${R_DO_SENT:-0}" -gt 0 ] || R_OK=0
  # A run is zero-drop only if perfdhcp ran, reported no drops, and every DISCOVER got its ACK.
  R_PASS=0; [ "$R_OK" = 1 ] && [ "$R_DROPS" = 0 ] && [ "${R_RA_RCV:-0}" = "$R_DO_SENT" ] && R_PASS=1
  R_RATE=$(awk -v n="${R_RA_RCV:-0}" -v p="$PERIOD" 'BEGIN{printf "%.0f", n/p}')
  R_CPU=$(awk -v a="$c0" -v b="$c1" -v s="$w0" -v e="$w1" 'BEGIN{printf "%.0f", 100*(b-a)/(e-s)}')
  R_PGCPU=$(awk -v a="$g0" -v b="$g1" -v s="$w0" -v e="$w1" 'BEGIN{printf "%.0f", 100*(b-a)/(e-s)}')
  R_US=$(awk -v a="$c0" -v b="$c1" -v n="${R_RA_RCV:-0}" 'BEGIN{ if (n > 0) printf "%.0f", 1e6*(b-a)/n; else print "-" }')
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s/%s\t%s/%s\t%s\t%s\t%s%s\n' "$(date -u +%T)" "$name" "$rate" "${R_DO_SENT:-0}" \
    "${R_RA_RCV:-0}" "$R_DROPS" "$R_RATE" "${R_DO_AVG:-?}" "${R_RA_AVG:-?}" "${R_DO_MAX:-?}" "${R_RA_MAX:-?}" "$R_CPU" "$R_US" "$R_RCVBUF" "$( [ "$STORE" = postgres ] && printf '\t%s\t%s' "$R_LEASES" "$R_PGCPU" )" >>"$WORK/trials.tsv"
  log "  $name r=$rate: sent ${R_DO_SENT:-0}, ACK ${R_RA_RCV:-0}, drops $R_DROPS, avg ms ${R_DO_AVG:-?}/${R_RA_AVG:-?}, max ${R_DO_MAX:-?}/${R_RA_MAX:-?}, cpu $R_CPU%${R_LEASES:+, PG cpu $R_PGCPU%, $R_LEASES leases in DB}${R_LOOP:+, $R_LOOP}"
  [ "$R_OK" = 1 ] || { log "  perfdhcp output:"; tail -5 "$WORK/pd-$SEQ-$name-$rate.txt" >&2; }
}

# ---- rate search, A/B alternated per rate -----------------------------------------------------
declare -A BEST BEST_RATE BEST_AVG BEST_MAX BEST_CPU FAIL
for s in kea kickstand; do BEST[$s]=0; BEST_RATE[$s]=-; BEST_AVG[$s]=-; BEST_MAX[$s]=-; BEST_CPU[$s]=-; FAIL[$s]=""; done
IFS=, read -ra RLIST <<<"$RATES"; i=0; STOPPED=""
for r in "${RLIST[@]}"; do
  order=(kea kickstand); [ $(( i % 2 )) = 1 ] && order=(kickstand kea); i=$((i + 1))
  for s in "${order[@]}"; do
    [ -z "${FAIL[$s]}" ] || continue
    if [ "$(left)" -lt $(( PERIOD + 15 )) ]; then STOPPED="deadline reached before rate $r"; FAIL[$s]="(deadline)"; continue; fi
    trial "$s" "$r"; a=0
    while [ "$R_PASS" = 0 ] && [ "$a" -lt "$RETRIES" ] && [ "$(left)" -ge $(( PERIOD + 15 )) ]; do
      a=$((a + 1)); log "  $s r=$r: drops, retry $a/$RETRIES"; trial "$s" "$r"; done
    if [ "$R_PASS" = 1 ]; then
      BEST[$s]=$r; BEST_RATE[$s]=$R_RATE; BEST_AVG[$s]="$R_DO_AVG/$R_RA_AVG"; BEST_MAX[$s]="$R_DO_MAX/$R_RA_MAX"; BEST_CPU[$s]="$R_CPU% ($R_US µs/DORA)"
    else FAIL[$s]="first drops at $r/s: $R_DROPS drops, ${R_RA_RCV:-0}/${R_DO_SENT:-0} ACKed, avg ms ${R_DO_AVG:-?}/${R_RA_AVG:-?}"; fi
  done
  [ -n "${FAIL[kea]}" ] && [ -n "${FAIL[kickstand]}" ] && break
done

# ---- --ha: the HA pair (docs/scale-out.md, topology B) on one PostgreSQL -------------------------
# Two `kickstand serve` in the server namespace, A bound to 198.19.0.1 and B to 198.19.250.1, one
# database; relay A (198.19.0.2, this run's client namespace) sends to A only, relay B
# (198.19.250.2, its own namespace) to B only, each at half the combined rate, with disjoint client
# MACs (perfdhcp -b mac=00:0c:0a:… / 00:0c:0b:…). Both daemons allocate from the same pool, so
# they meet on addresses: the loser of a commit answers DHCPNAK (counted from each daemon's
# /metrics; perfdhcp counts it as a drop). Both daemons and PostgreSQL share the server CPU(s).
declare -A HA_BEST_=([rate]=0 [dora]=- [avg]=- [cpu]=-) HA_ANS=([rate]=0 [dora]=- [naks]=-); HA_FAIL=""; HA_ANS_FAIL=""
ha_yaml() { # DIR ADDR HTTP_PORT API_PORT DAEMON_NAME
  cat >"$1/kickstand.yaml" <<YAML
stateDir: $1
imagesDir: $1/images
kickstartsDir: $REPO/kickstarts
http: { listen: "127.0.0.1:$3", publicUrl: "http://$2:8080" }
api: { listen: "127.0.0.1:$4" }
dhcp: { mode: authoritative, unknownHosts: discover, port: 67, bind: $2, loaders: { uefi: ipxe.efi, bios: undionly.kpxe }, warmUp: $( [ "$WARMUP" = 1 ] && echo true || echo false )$( [ -n "$RESERVE" ] && echo ", reserveOffers: $RESERVE" ) }
network: { address: $2, subnet: $SUBNET, pool: { start: $POOL_START, end: $POOL_END }, gateway: $2, leaseTime: 3600 }
tftp: { enabled: false }
store: { kind: postgres, url: "$PG_URL_BASE/$DBNAME", daemonName: $5 }
log: { level: warn }
YAML
}
ha_naks() { ks_metrics "$1" "http://127.0.0.1:$2/metrics" | awk 'tolower($0) ~ /^kickstand_dhcp_replies_total\{type="(dhcp)?nak"\}/ {s += $2} END {print s + 0}'; }
ha_bound() { ip netns exec "$NS_S" ss -Hlun 'sport = :67' | awk -v a="$SRV_IP:67" -v b="$SRV_IP2:67" '$4 == a || $4 == b' | wc -l; }
PD_B=("${PD[@]}"); PD_B[3]=$REL_IP2
printf 'time\tcombined rate\tDISCOVER sent A/B\tACK rcvd A/B\tdrops A/B\tNAKs sent A/B\tcombined DORA/s\tavg ms DO/RA A; B\tmax ms DO/RA A; B\tdaemon CPU %% A/B\tPG CPU %%\tleases in DB\tclients with 2 bindings\n' >"$WORK/ha.tsv"
ha_trial() { # COMBINED_RATE -> H_PASS, H_* ; appends a row to ha.tsv
  local rate=$1 ra rb da db c0a c0b c1a c1b g0 g1 w0 w1 i na nb rows
  ra=$(( (rate + 1) / 2 )); rb=$(( rate / 2 ))
  SEQ=$((SEQ + 1)); SDIR=$WORK/ha.$SEQ; da=$SDIR/a; db=$SDIR/b
  mkdir -p "$da" "$db"; chmod 755 "$SDIR" "$da" "$db"
  DBNAME=ha_$SEQ; pg_sql "CREATE DATABASE $DBNAME" || die "CREATE DATABASE $DBNAME failed"
  ha_yaml "$da" "$SRV_IP" 8080 8081 ks-a; ha_yaml "$db" "$SRV_IP2" 8090 8091 ks-b
  (cd "$REPO" && exec ip netns exec "$NS_S" "${SRV_PIN[@]}" "${KS_CMD[@]}" --config "$da/kickstand.yaml" serve) >"$da/stdout.log" 2>&1 & SPID=$!
  (cd "$REPO" && exec ip netns exec "$NS_S" "${SRV_PIN[@]}" "${KS_CMD[@]}" --config "$db/kickstand.yaml" serve) >"$db/stdout.log" 2>&1 & SPID2=$!
  for i in $(seq 300); do   # up to 30 s: two daemons warm up on the server CPU
    kill -0 "$SPID" 2>/dev/null && kill -0 "$SPID2" 2>/dev/null || { tail -5 "$da/stdout.log" "$db/stdout.log" >&2; die "an HA daemon exited at start"; }
    [ "$(ha_bound)" = 2 ] && break; sleep 0.1
  done
  [ "$(ha_bound)" = 2 ] || die "the HA daemons did not both bind UDP 67 within 30 s"
  sleep 0.3; ks_metrics "$da" http://127.0.0.1:8081/metrics >/dev/null; ks_metrics "$db" http://127.0.0.1:8091/metrics >/dev/null
  c0a=$(cpu_s "$SPID"); c0b=$(cpu_s "$SPID2"); g0=$(pg_cpu_s); w0=$(date +%s.%N)
  ip netns exec "$NS_C" "${CLI_PIN[@]}" timeout -k 2 $(( PERIOD + 15 )) "${PD[@]}" -b mac=00:0c:0a:00:00:00 -r "$ra" -p "$PERIOD" \
    -W 1000000 "$SRV_IP" >"$WORK/pd-$SEQ-ha-a-$rate.txt" 2>&1 & PDPID=$!
  ip netns exec "$NS_C2" "${CLI_PIN[@]}" timeout -k 2 $(( PERIOD + 15 )) "${PD_B[@]}" -b mac=00:0c:0b:00:00:00 -r "$rb" -p "$PERIOD" \
    -W 1000000 "$SRV_IP2" >"$WORK/pd-$SEQ-ha-b-$rate.txt" 2>&1 & PDPID2=$!
  wait "$PDPID" || true; PDPID=""; wait "$PDPID2" || true; PDPID2=""
  w1=$(date +%s.%N); c1a=$(cpu_s "$SPID"); c1b=$(cpu_s "$SPID2"); g1=$(pg_cpu_s)
  na=$(ha_naks "$da" 8081 || echo "?"); nb=$(ha_naks "$db" 8091 || echo "?")
  stop_pid "$SPID"; SPID=""; stop_pid "$SPID2"; SPID2=""
  rows=$(ip netns exec "$NS_S" psql -h 127.0.0.1 -p 5432 -U kickstand -d "$DBNAME" -AtXq -F ' ' \
    -c "SELECT count(*), count(*) - count(DISTINCT mac) FROM leases WHERE state = 'bound'" 2>/dev/null || echo "? ?")
  [ "$KEEP" = 1 ] || pg_sql "DROP DATABASE IF EXISTS $DBNAME WITH (FORCE)" || log "  (DROP DATABASE $DBNAME failed)"
  eval "$(pd_vars "$WORK/pd-$SEQ-ha-a-$rate.txt" | sed 's/^R_/A_/')"; eval "$(pd_vars "$WORK/pd-$SEQ-ha-b-$rate.txt" | sed 's/^R_/B_/')"
  local pa=0 pb=0
  [ "${A_DO_SENT:-0}" -gt 0 ] && [ $(( ${A_DO_DROP:-0} + ${A_RA_DROP:-0} )) = 0 ] && [ "${A_RA_RCV:-0}" = "$A_DO_SENT" ] && pa=1
  [ "${B_DO_SENT:-0}" -gt 0 ] && [ $(( ${B_DO_DROP:-0} + ${B_RA_DROP:-0} )) = 0 ] && [ "${B_RA_RCV:-0}" = "$B_DO_SENT" ] && pb=1
  H_PASS=$(( pa * pb ))
  # Answered: every DISCOVER got its OFFER and every REQUEST its ACK or NAK (NAKs are the pair's
  # lost commit races, not lost packets): what the pair sustains apart from those races.
  local qa=0 qb=0
  [ "${A_DO_SENT:-0}" -gt 0 ] && [ "${A_DO_DROP:-0}" = 0 ] && [ "$na" = "${A_RA_DROP:-0}" ] && [ $(( ${A_RA_RCV:-0} + na )) = "$A_DO_SENT" ] && qa=1
  [ "${B_DO_SENT:-0}" -gt 0 ] && [ "${B_DO_DROP:-0}" = 0 ] && [ "$nb" = "${B_RA_DROP:-0}" ] && [ $(( ${B_RA_RCV:-0} + nb )) = "$B_DO_SENT" ] && qb=1
  H_ANSWERED=$(( qa * qb ))
  H_DORA=$(awk -v a="${A_RA_RCV:-0}" -v b="${B_RA_RCV:-0}" -v p="$PERIOD" 'BEGIN{printf "%.0f", (a+b)/p}')
  H_AVG="${A_DO_AVG:-?}/${A_RA_AVG:-?}; ${B_DO_AVG:-?}/${B_RA_AVG:-?}"
  H_CPU="$(awk -v a="$c0a" -v b="$c1a" -v s="$w0" -v e="$w1" 'BEGIN{printf "%.0f", 100*(b-a)/(e-s)}')/$(awk -v a="$c0b" -v b="$c1b" -v s="$w0" -v e="$w1" 'BEGIN{printf "%.0f", 100*(b-a)/(e-s)}')"
  H_PGCPU=$(awk -v a="$g0" -v b="$g1" -v s="$w0" -v e="$w1" 'BEGIN{printf "%.0f", 100*(b-a)/(e-s)}')
  H_DROPS="$(( ${A_DO_DROP:-0} + ${A_RA_DROP:-0} ))/$(( ${B_DO_DROP:-0} + ${B_RA_DROP:-0} ))"; H_NAKS="$na/$nb"
  printf '%s\t%s\t%s/%s\t%s/%s\t%s\t%s\t%s\t%s\t%s/%s; %s/%s\t%s\t%s\t%s\t%s\n' "$(date -u +%T)" "$rate" "${A_DO_SENT:-0}" "${B_DO_SENT:-0}" \
    "${A_RA_RCV:-0}" "${B_RA_RCV:-0}" "$H_DROPS" "$H_NAKS" "$H_DORA" "$H_AVG" "${A_DO_MAX:-?}" "${A_RA_MAX:-?}" "${B_DO_MAX:-?}" "${B_RA_MAX:-?}" \
    "$H_CPU" "$H_PGCPU" "${rows% *}" "${rows#* }" >>"$WORK/ha.tsv"
  log "  HA pair r=$rate ($ra + $rb): ACK ${A_RA_RCV:-0}/${A_DO_SENT:-0} + ${B_RA_RCV:-0}/${B_DO_SENT:-0}, drops $H_DROPS, NAKs $H_NAKS, avg ms $H_AVG, cpu $H_CPU%, PG cpu $H_PGCPU%, leases in DB ${rows% *}, clients with 2 bindings ${rows#* }"
}
if [ "$HA" = 1 ]; then
  for r in "${RLIST[@]}"; do
    if [ "$(left)" -lt $(( PERIOD + 25 )) ]; then HA_FAIL="(deadline reached before rate $r)"; break; fi
    # The search goes on while every request is answered (ACK or NAK); zero-drop (no NAK either)
    # is recorded on the way. A rate is retried while it is not answered.
    ha_trial "$r"; a=0
    while { [ "$H_ANSWERED" = 0 ] || { [ "$H_PASS" = 0 ] && [ -z "$HA_FAIL" ]; }; } && [ "$a" -lt "$RETRIES" ] && [ "$(left)" -ge $(( PERIOD + 25 )) ]; do
      a=$((a + 1)); log "  HA pair r=$r: drops, retry $a/$RETRIES"; ha_trial "$r"; done
    if [ -z "$HA_FAIL" ]; then
      if [ "$H_PASS" = 1 ]; then HA_BEST_=([rate]=$r [dora]=$H_DORA [avg]="$H_AVG" [cpu]="$H_CPU% (PG $H_PGCPU%)")
      else HA_FAIL="first drops at $r/s: drops A/B $H_DROPS, NAKs A/B $H_NAKS"; fi
    fi
    if [ "$H_ANSWERED" = 1 ]; then HA_ANS=([rate]=$r [dora]=$H_DORA [naks]="$H_NAKS")
    else HA_ANS_FAIL="first unanswered requests at $r/s: drops A/B $H_DROPS, NAKs A/B $H_NAKS"; break; fi
  done
fi

# ---- optional: CPU profile of Kickstand at one rate -------------------------------------------
PROF_MD=""
if [ -n "$PROFILE" ] && [ "$(left)" -ge $(( PERIOD + 20 )) ]; then
  mkdir -p "$WORK/prof"; chmod 777 "$WORK/prof"
  PFLAGS=(--cpu-prof --cpu-prof-dir="$WORK/prof"); [ "$PERF" = 1 ] && PFLAGS+=(--perf-basic-prof)
  start_server kickstand "${PFLAGS[@]}"; PROF_PID=$SPID
  if [ "$PERF" = 1 ] && command -v perf >/dev/null; then
    perf record -q -F 999 -g -p "$SPID" -o "$WORK/perf.data" >/dev/null 2>&1 & PERFPID=$!
  fi
  ip netns exec "$NS_C" "${CLI_PIN[@]}" timeout -k 2 $(( PERIOD + 15 )) "${PD[@]}" -r "$PROFILE" -p "$PERIOD" \
    -W 1000000 "$SRV_IP" >"$WORK/pd-profile.txt" 2>&1 & PDPID=$!; wait "$PDPID" || true; PDPID=""
  if [ -n "$PERFPID" ]; then kill -INT "$PERFPID" 2>/dev/null || true; wait "$PERFPID" 2>/dev/null || true; PERFPID=""; fi
  stop_pid "$SPID"; SPID=""
  PROF_MD=$(node -e '
    const fs = require("fs"), dir = process.argv[1];
    const f = fs.readdirSync(dir).find((n) => n.endsWith(".cpuprofile")); if (!f) { console.log("(no profile written)"); process.exit(0); }
    const p = JSON.parse(fs.readFileSync(dir + "/" + f)); const self = new Map(); let total = 0;
    const dt = new Map(); p.samples.forEach((id, k) => dt.set(id, (dt.get(id) || 0) + (p.timeDeltas[k] || 0)));
    for (const n of p.nodes) { const t = dt.get(n.id) || 0; const c = n.callFrame; if (c.functionName === "(idle)") continue; total += t;
      const key = `${c.functionName || "(anonymous)"} ${(c.url || "").replace(/^.*\/(node_modules|src)\//, "$1/")}:${c.lineNumber + 1}`;
      self.set(key, (self.get(key) || 0) + t); }
    console.log(`busy (non-idle) samples: ${(total / 1e6).toFixed(2)} s\n\n| self % of busy | function (file:line) |\n|---|---|`);
    [...self].sort((a, b) => b[1] - a[1]).slice(0, 20).forEach(([k, t]) => console.log(`| ${(100 * t / total).toFixed(1)} | \`${k}\` |`));
  ' "$WORK/prof" 2>&1)
  PROF_MD="perfdhcp -r $PROFILE: $(awk '/^received packets:/{r=$3} END{print r}' "$WORK/pd-profile.txt") ACKs received, $(awk '/^drops:/{d+=$2} END{print d+0}' "$WORK/pd-profile.txt") drops

$PROF_MD"
  if [ -s "$WORK/perf.data" ]; then
    PROF_MD="$PROF_MD

perf record of the same run (all of the server's threads, user and kernel; % of samples):

\`\`\`
$(perf report -i "$WORK/perf.data" --no-children --sort dso -g none 2>/dev/null | grep -v '^#' | grep -v '^$' | head -8)

$(perf report -i "$WORK/perf.data" --no-children --sort dso,sym -g none --percent-limit 0.8 2>/dev/null | grep -v '^#' | grep -v '^$' | head -30)
\`\`\`"
  fi
  rm -f "/tmp/perf-$PROF_PID.map"
fi

# ---- report -------------------------------------------------------------------------------------
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg); PSI1=$(psi)
md_table() { awk -F'\t' 'NR==1{h="|"; s="|"; for(i=1;i<=NF;i++){h=h" "$i" |"; s=s"---|"} print h; print s; next}
  {l="|"; for(i=1;i<=NF;i++) l=l" "$i" |"; print l}' "$1"; }
ratio() { awk -v k="$1" -v e="$2" 'BEGIN{ if (e > 0) printf "%.2f×", k/e; else print "n/a" }'; }
{
  echo "Run $START, $(nproc) CPUs ($(awk -F: '/model name/{print $2; exit}' /proc/cpuinfo | sed 's/^ *//')),"
  echo "load average (1/5/15 min) at start $LOAD0, at end $LOAD1; CPU pressure (PSI some avg60) $PSI0 → $PSI1. kea-dhcp4 $(kea-dhcp4 -V | head -1), perfdhcp $(perfdhcp -v 2>&1 | awk '/VERSION/{print $2}'), node $(node -v)."
  echo "Client: \`ip netns exec CLIENT ${CLI_PIN[*]} ${PD[*]} -r RATE -p $PERIOD -W 1000000 $SRV_IP\`;"
  echo "server pinned: ${SRV_PIN[*]:-none}. Kickstand: \`kickstand serve\` (DHCP-only config) via $( [ "$RUNNER" = dist ] && echo 'bin/kickstand (dist/), plain node' || echo 'node --import tsx'),"
  echo "Kickstand JIT warm-up before binding: $( [ "$WARMUP" = 1 ] && echo 'on (as serve)' || echo 'off (--ks-cold)')."
  if [ "$STORE" = postgres ]; then
    echo "**Lease store: PostgreSQL $("$PGBIN/postgres" -V | awk '{print $3}'), both servers** (one private cluster in the server namespace, 127.0.0.1:5432, data on $(df -T "$WORK" | awk 'NR==2{print $2}'), as Debian ships it: fsync on, synchronous_commit on; pinned with the server: ${SRV_PIN[*]:-none}; a fresh database per trial). Kickstand's dhcp.reserveOffers: ${RESERVE:-unset (on for PostgreSQL)}."
    echo "Per lease: **Kickstand** commits each binding in its own transaction (SELECT … FOR UPDATE, INSERT/UPDATE, COMMIT; the WAL flushed) before the DHCPACK is sent, up to store.poolSize (8) transactions in flight;"
    echo "**Kea** (libkea-pgsql, lease-database type postgresql, schema by \`kea-admin db-init pgsql\`) commits each lease in its own transaction (autocommit INSERT/UPDATE) before its DHCPACK, $( [ "$KEA_THREADS" -gt 0 ] && echo "multi-threaded ($KEA_THREADS threads, one connection each)" || echo 'single-threaded (the 2.2 default: one connection, one statement at a time)'); INFO log to a file."
  else
    echo "SQLite on $(df -T "$WORK" | awk 'NR==2{print $2}') (WAL, synchronous=NORMAL, WAL fsync before each batch's ACKs, fsync pacing ${SYNC_INTERVAL:-default} ms, worker checkpoints every ${CKPT_PERIOD:-default} ms). Kea: memfile persist=true, lfc-interval 3600, $( [ "$KEA_THREADS" -gt 0 ] && echo "$KEA_THREADS threads, " )INFO log."
  fi
  echo "Rates tried: $RATES (period $PERIOD s each, a failing rate retried up to $RETRIES×, fresh server + empty lease store per trial; A/B order alternates per rate)${STOPPED:+; $STOPPED}."
  echo
  echo "| server | highest zero-drop rate (-r) | achieved DORA/s | avg ms DO/RA | max ms DO/RA | server CPU (per DORA) | first failure |"
  echo "|---|---|---|---|---|---|---|"
  for s in kickstand kea; do
    echo "| $s | ${BEST[$s]} | ${BEST_RATE[$s]} | ${BEST_AVG[$s]} | ${BEST_MAX[$s]} | ${BEST_CPU[$s]} | ${FAIL[$s]:-none (all rates passed)} |"
  done
  echo
  if [ "$STORE" = postgres ]; then
    echo "**Kickstand-on-PostgreSQL / Kea-on-PostgreSQL (highest zero-drop rate): $(ratio "${BEST[kickstand]}" "${BEST[kea]}")**"
  else
    echo "**Kickstand / Kea (highest zero-drop rate): $(ratio "${BEST[kickstand]}" "${BEST[kea]}")**"
  fi
  echo
  echo "DO = DISCOVER→OFFER, RA = REQUEST→ACK (perfdhcp delays). Zero-drop = perfdhcp drops 0 and every DISCOVER ACKed."
  echo "Server CPU = user+sys of the server process (/proc) over the perfdhcp run; µs/DORA = that CPU time / ACKs."
  echo "UDP rcvbuf drops = RcvbufErrors in the server's / the client's namespace during the trial (a full socket receive buffer)."
  [ "$STORE" = postgres ] && echo "Leases in DB = lease rows the trial's database held after the run (Kickstand: bound rows of \`leases\`; Kea: \`lease4\`); PG CPU % = user+sys of the cluster's postmaster and its processes over the run (share of one CPU)."
  echo
  echo "All trials:"
  echo
  md_table "$WORK/trials.tsv"
  if [ "$HA" = 1 ]; then
    echo
    echo "### HA pair: two \`kickstand serve\` on one PostgreSQL (--ha)"
    echo
    echo "Daemon A (198.19.0.1) and daemon B (198.19.250.1) in the server namespace, one database (fresh per trial), both pinned like the single server (${SRV_PIN[*]:-none}, with PostgreSQL);"
    echo "relay A → A only, relay B (its own namespace, 198.19.250.2) → B only, each at half the combined rate (-r), disjoint client MACs, one pool. Both daemons allocate from that pool,"
    echo "so they meet on addresses: the commit that loses answers DHCPNAK (perfdhcp counts it as a drop; NAKs sent are from each daemon's /metrics). Zero-drop = both relays drop 0 and every DISCOVER ACKed."
    echo
    echo "| HA pair | highest zero-drop combined rate | achieved DORA/s | avg ms DO/RA A; B | daemon CPU A/B | first failure |"
    echo "|---|---|---|---|---|---|"
    echo "| kickstand × 2 | ${HA_BEST_[rate]} | ${HA_BEST_[dora]} | ${HA_BEST_[avg]} | ${HA_BEST_[cpu]} | ${HA_FAIL:-none (all rates passed)} |"
    echo
    echo "**HA pair / one Kickstand on PostgreSQL: $(ratio "${HA_BEST_[rate]}" "${BEST[kickstand]}"); HA pair / Kea on PostgreSQL: $(ratio "${HA_BEST_[rate]}" "${BEST[kea]}")** (highest zero-drop rates)."
    echo
    echo "Every request answered (each DISCOVER OFFERed, each REQUEST ACKed or NAKed, no packet lost; the NAKs are the pair's commit races):"
    echo "highest combined rate **${HA_ANS[rate]}** (ACKs ${HA_ANS[dora]}/s, NAKs A/B ${HA_ANS[naks]}); ${HA_ANS_FAIL:-every rate tried was answered}."
    echo
    echo "HA trials (clients with 2 bindings = bound rows sharing a MAC in the database afterwards; must be 0):"
    echo
    md_table "$WORK/ha.tsv"
  fi
  [ -z "$PROF_MD" ] || { echo; echo "Kickstand CPU profile (node --cpu-prof, top self time):"; echo; echo "$PROF_MD"; }
} >"$WORK/report.md"
cat "$WORK/report.md"; [ -z "$OUT" ] || cp "$WORK/report.md" "$OUT"

# ---- optional extra: the shared peer bench, only if present ------------------------------------
PEER=$REPO/../shared/peer-bench/dhcp-peers.sh
if [ "$PEERS" = 1 ]; then
  if [ -f "$PEER" ]; then
    # The candidate writes its config from the peer-bench env (PB_SERVER_IP, PB_SUBNET, …).
    cat >"$WORK/peer-candidate.sh" <<SH
#!/usr/bin/env bash
set -eu
d=\${PB_WORKDIR:-.}
cat >"\$d/kickstand.yaml" <<YAML
stateDir: \$d
imagesDir: \$d/images
kickstartsDir: $REPO/kickstarts
http: { listen: "127.0.0.1:8080", publicUrl: "http://\$PB_SERVER_IP:8080" }
dhcp: { mode: authoritative, unknownHosts: discover, port: \${PB_DHCP_PORT:-67}, loaders: { uefi: \$PB_BOOTFILE, bios: \$PB_BOOTFILE } }
network: { address: \$PB_SERVER_IP, subnet: \$PB_SUBNET, pool: { start: \$PB_POOL_START, end: \$PB_POOL_END }, gateway: \$PB_ROUTER, leaseTime: \$PB_LEASE_TIME }
tftp: { enabled: false }
log: { level: warn }
YAML
cd "$REPO" && exec ${KS_CMD[*]} --config "\$d/kickstand.yaml" serve
SH
    log "--peers: running $PEER --candidate (Kickstand)"
    bash "$PEER" --servers kea --candidate "exec bash $WORK/peer-candidate.sh" \
      --candidate-name kickstand --deadline "$(left)" || log "peer bench failed (optional; ignored)"
  else log "--peers: $PEER not found; skipped"; fi
fi
