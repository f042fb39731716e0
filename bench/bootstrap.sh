#!/usr/bin/env bash
# bench/bootstrap.sh - Kickstand's SSH runner against ansible-playbook and the plain-ssh floor,
# on the same real sshd nodes, in one run. Not a test: it prints timings and ratios.
#
# Nodes: N real OpenSSH sshd processes (/usr/sbin/sshd -D), each with its own temp ed25519 host
# key, in its own network namespace (eth0 198.18.31.(10+i)/24), bridged in a control namespace
# (198.18.31.1) where every client runs. Root logs in with a temp ed25519 client key; host keys
# are pinned (known_hosts, StrictHostKeyChecking yes; Kickstand: hostVerifier).
# Workload per node (work dir D), the same for every tool:
#   D/motd, D/settings.conf (static) and D/node.conf (template: {{ node_name }}, {{ node_index }}),
#   mode 0644, written only if different; `uname -a`; `sh -c 'echo ok > D/ran'` unless D/ran exists.
#   "first" = from empty node dirs; "second" = on converged nodes, must change nothing (checked).
# Tools:
#   ssh-x25519  plain ssh, one connection per node doing everything, xargs -P N,
#               -o KexAlgorithms=curve25519-sha256 (what ssh2 negotiates): the floor
#   ansible     ansible-playbook -f N with ANSIBLE_PIPELINING=True (5 tasks, gather_facts false)
#   kickstand   node <build>/src/bootstrap/workload-main.js --inventory inv.json (lean entry)
#   kickstand-cli  node <build>/src/cli/main.js bootstrap --inventory inv.json (full CLI start-up)
# Standalone: needs root, sshd, ssh, ip, hyperfine, jq, node; ansible-playbook optional (row
# skipped if absent). With --peers, also runs ../shared/peer-bench/bootstrap-peers.sh (if
# present) with this runner as --candidate.
set -u -o pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
NODES_ARG=1,20; RUNS=5; OUT=""; KEEP=0; PEERS=0; TOOLS_ARG=ssh-x25519,ansible,kickstand,kickstand-cli
usage() { sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; echo "options: --nodes LIST (1,20) --runs R (5) --tools LIST --out FILE --keep --peers (PEER_TOOLS=ssh,ssh-x25519,ansible-pipe)"; }
while [ $# -gt 0 ]; do
  case $1 in
    --nodes) NODES_ARG=$2; shift 2;; --runs) RUNS=$2; shift 2;; --out) OUT=$2; shift 2;;
    --tools) TOOLS_ARG=$2; shift 2;; --keep) KEEP=1; shift;; --peers) PEERS=1; shift;;
    -h|--help) usage; exit 0;; *) usage >&2; exit 2;;
  esac
done
die() { echo "bootstrap.sh: $*" >&2; exit 1; }
log() { echo "[bootstrap.sh] $*" >&2; }
[ "$(id -u)" = 0 ] || die "needs root (network namespaces, sshd)"
for c in ssh ssh-keygen ip hyperfine jq node base64 cmp stat xargs; do command -v "$c" >/dev/null || die "missing $c"; done
[ -x /usr/sbin/sshd ] || die "missing /usr/sbin/sshd (openssh-server)"
IFS=, read -ra NLIST <<<"$NODES_ARG"; IFS=, read -ra TOOLS <<<"$TOOLS_ARG"
NMAX=0; for n in "${NLIST[@]}"; do [[ $n =~ ^[0-9]+$ ]] && [ "$n" -ge 1 ] && [ "$n" -le 100 ] || die "bad --nodes $n"; [ "$n" -gt "$NMAX" ] && NMAX=$n; done
APB=$(command -v ansible-playbook || true)

W=$(mktemp -d /tmp/ks-bench-boot.XXXXXX); TAG=ksb$$; CTL=${TAG}c
NSLIST=(); PIDS=(); RUNDIR_MADE=0
cleanup() {
  set +e
  for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  for ns in "${NSLIST[@]}"; do
    for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
    ip netns del "$ns" 2>/dev/null
  done
  [ "$RUNDIR_MADE" = 1 ] && rmdir /run/sshd 2>/dev/null
  [ "$KEEP" = 1 ] && log "kept $W" || rm -rf "$W"
}
trap cleanup EXIT; trap 'exit 130' INT TERM
if [ ! -d /run/sshd ]; then mkdir -m 755 /run/sshd && RUNDIR_MADE=1; fi

# ---- build Kickstand into the work dir (does not touch the repo's dist/) -------------------
log "building Kickstand (tsc) into $W/build"
(cd "$REPO" && npx tsc -p tsconfig.build.json --outDir "$W/build" --tsBuildInfoFile "$W/tsbuildinfo" >"$W/tsc.log" 2>&1)
[ -f "$W/build/src/bootstrap/workload-main.js" ] || die "build failed: $(tail -5 "$W/tsc.log")"
export NODE_PATH=$REPO/node_modules

# ---- workload ---------------------------------------------------------------------------------
mkdir -p "$W/workload" "$W/client" "$W/nodes" "$W/ansible/local" "$W/cp" "$W/logs"; chmod 700 "$W/client" "$W/cp"
printf 'This node is managed by the bootstrap benchmark.\nLocal changes to this file are overwritten on the next run.\n' >"$W/workload/motd"
printf '# static settings, identical on every node\n[agent]\ninterval = 30\nlog_level = info\n\n[network]\nmtu = 1500\n' >"$W/workload/settings.conf"
printf '# generated for {{ node_name }} - do not edit\nname={{ node_name }}\nindex={{ node_index }}\nfqdn={{ node_name }}.bench.invalid\n' >"$W/workload/node.conf.j2"

# ---- nodes -------------------------------------------------------------------------------------
ssh-keygen -q -t ed25519 -N '' -C bench-client -f "$W/client/id_ed25519"
cp "$W/client/id_ed25519.pub" "$W/client/authorized_keys"; : >"$W/client/known_hosts"
cat >"$W/client/ssh_config" <<EOF
Host *
  User root
  IdentityFile $W/client/id_ed25519
  IdentitiesOnly yes
  UserKnownHostsFile $W/client/known_hosts
  GlobalKnownHostsFile /dev/null
  StrictHostKeyChecking yes
  BatchMode yes
  ConnectTimeout 15
  LogLevel ERROR
EOF
ip netns add "$CTL" || die "ip netns add failed"; NSLIST+=("$CTL")
ip -n "$CTL" link set lo up
ip -n "$CTL" link add br0 type bridge && ip -n "$CTL" addr add 198.18.31.1/24 dev br0 && ip -n "$CTL" link set br0 up
IN_CTL=(ip netns exec "$CTL")
: >"$W/nodes.tsv"
log "starting $NMAX sshd nodes"
for i in $(seq "$NMAX"); do
  name=$(printf 'node%02d' "$i"); nd=$W/nodes/$name; ns=${TAG}n$i; host=198.18.31.$((10 + i))
  mkdir -p "$nd/home" "$nd/data"; chmod 700 "$nd/home"; chmod 755 "$nd" "$nd/data"
  ssh-keygen -q -t ed25519 -N '' -C "$name" -f "$nd/host_ed25519"
  ip netns add "$ns" || die "ip netns add $ns"; NSLIST+=("$ns")
  ip -n "$ns" link set lo up
  ip -n "$CTL" link add "v$TAG$i" type veth peer name eth0 netns "$ns" || die "veth $name"
  ip -n "$CTL" link set "v$TAG$i" master br0 up
  ip -n "$ns" addr add "$host/24" dev eth0; ip -n "$ns" link set eth0 up
  cat >"$nd/sshd_config" <<EOF
ListenAddress $host:22
HostKey $nd/host_ed25519
AuthorizedKeysFile $W/client/authorized_keys
PidFile none
StrictModes no
UsePAM no
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitUserRC no
PrintMotd no
PrintLastLog no
UseDNS no
X11Forwarding no
AllowTcpForwarding no
MaxStartups 100:30:200
MaxSessions 64
SetEnv HOME=$nd/home
Subsystem sftp /usr/lib/openssh/sftp-server
LogLevel ERROR
EOF
  ip netns exec "$ns" /usr/sbin/sshd -D -e -f "$nd/sshd_config" >"$nd/sshd.log" 2>&1 &
  PIDS+=($!)
  echo "$host $(cut -d' ' -f1,2 "$nd/host_ed25519.pub")" >>"$W/client/known_hosts"
  printf '%s %s %s %s\n' "$name" "$i" "$host" "$nd/data" >>"$W/nodes.tsv"
done
while read -r name idx host dir; do
  ok=0; for t in $(seq 100); do "${IN_CTL[@]}" bash -c "exec 3<>/dev/tcp/$host/22" 2>/dev/null && { ok=1; break; }; sleep 0.1; done
  [ $ok = 1 ] || die "sshd of $name did not start: $(tail -3 "$W/nodes/$name/sshd.log")"
done <"$W/nodes.tsv"

# ---- inventories (Kickstand JSON in the peer-bench format; Ansible YAML) ----------------------
for n in "${NLIST[@]}"; do
  head -n "$n" "$W/nodes.tsv" | jq -R -s --arg key "$W/client/id_ed25519" --arg kh "$W/client/known_hosts" \
    --arg motd "$(cat "$W/workload/motd")" --arg settings "$(cat "$W/workload/settings.conf")" --arg tpl "$(cat "$W/workload/node.conf.j2")" '
    { n: (split("\n") | map(select(length > 0)) | length), user: "root", key: $key, known_hosts: $kh,
      workload: { files: [ {path: "motd", mode: "0644", content: ($motd + "\n")},
                           {path: "settings.conf", mode: "0644", content: ($settings + "\n")},
                           {path: "node.conf", mode: "0644", template: ($tpl + "\n")} ],
                  commands: ["uname -a", "sh -c '\''echo ok > {dir}/ran'\''"], creates: "{dir}/ran" },
      nodes: (split("\n") | map(select(length > 0) | split(" ") | {name: .[0], index: (.[1] | tonumber), host: .[2], port: 22, user: "root", key: $key, known_hosts: $kh, dir: .[3]})) }' \
    >"$W/inventory-$n.json"
  { echo "nodes:"; echo "  hosts:"
    head -n "$n" "$W/nodes.tsv" | while read -r name idx host dir; do
      printf '    %s:\n      ansible_host: %s\n      node_index: %s\n      node_dir: %s\n      node_name: %s\n' "$name" "$host" "$idx" "$dir" "$name"
    done
    echo "  vars:"; echo "    ansible_user: root"; echo "    ansible_python_interpreter: /usr/bin/python3"
  } >"$W/ansible/inv-$n.yml"
done
cp "$W/workload/motd" "$W/workload/settings.conf" "$W/workload/node.conf.j2" "$W/ansible/"
cat >"$W/ansible/ansible.cfg" <<EOF
[defaults]
local_tmp = $W/ansible/local
nocolor = True
host_key_checking = True
[ssh_connection]
control_path_dir = $W/cp
ssh_args = -C -o ControlMaster=auto -o ControlPersist=60s -F $W/client/ssh_config
EOF
cat >"$W/ansible/site.yml" <<'EOF'
- name: bootstrap workload
  hosts: nodes
  gather_facts: false
  tasks:
    - copy: {src: motd, dest: "{{ node_dir }}/motd", mode: "0644"}
    - copy: {src: settings.conf, dest: "{{ node_dir }}/settings.conf", mode: "0644"}
    - template: {src: node.conf.j2, dest: "{{ node_dir }}/node.conf", mode: "0644"}
    - command: uname -a
      changed_when: false
    - command: sh -c 'echo ok > {{ node_dir }}/ran'
      args: {creates: "{{ node_dir }}/ran"}
EOF

# ---- helpers run by hyperfine (inside the control namespace) -----------------------------------
cat >"$W/ssh-one" <<EOF
#!/bin/bash
name=\$1 idx=\$2 host=\$3 dir=\$4
W=$W
EOF
cat >>"$W/ssh-one" <<'EOF'
t=$(<"$W/workload/node.conf.j2"); t=${t//'{{ node_name }}'/$name}; t=${t//'{{ node_index }}'/$idx}
m=$(base64 -w0 "$W/workload/motd"); s=$(base64 -w0 "$W/workload/settings.conf"); n=$(printf '%s\n' "$t" | base64 -w0)
exec ssh -F "$W/client/ssh_config" -o ControlMaster=no -o KexAlgorithms=curve25519-sha256 "root@$host" sh -s <<SCRIPT
set -eu
c=0
put() {
  if [ -f "\$1" ] && [ "\$(stat -c %a "\$1")" = "\$2" ] && printf '%s' "\$3" | base64 -d | cmp -s - "\$1"; then return 0; fi
  printf '%s' "\$3" | base64 -d >"\$1.bb-new"; chmod "\$2" "\$1.bb-new"; mv -f "\$1.bb-new" "\$1"; c=\$((c + 1))
}
put '$dir/motd' 644 '$m'
put '$dir/settings.conf' 644 '$s'
put '$dir/node.conf' 644 '$n'
uname -a >/dev/null
if [ ! -e '$dir/ran' ]; then sh -c 'echo ok > $dir/ran'; c=\$((c + 1)); fi
echo "$name changed=\$c"
SCRIPT
EOF
cat >"$W/run" <<EOF
#!/bin/bash
# run TOOL N: one timed run (output to the log)
W=$W; APB=$APB
EOF
cat >>"$W/run" <<'EOF'
tool=$1 n=$2
exec >>"$W/logs/$tool-$n.log" 2>&1
case $tool in
  ssh-x25519) head -n "$n" "$W/nodes.tsv" | xargs -P "$n" -L 1 "$W/ssh-one";;
  ansible) cd "$W/ansible" && ANSIBLE_CONFIG=$W/ansible/ansible.cfg ANSIBLE_PIPELINING=True exec "$APB" -f "$n" -i "inv-$n.yml" site.yml;;
  kickstand) exec node "$W/build/src/bootstrap/workload-main.js" --inventory "$W/inventory-$n.json";;
  kickstand-cli) exec node "$W/build/src/cli/main.js" bootstrap --inventory "$W/inventory-$n.json";;
esac
EOF
cat >"$W/prep" <<EOF
#!/bin/bash
# prep PHASE N: close ControlPersist masters; for "first" empty the node dirs
W=$W
EOF
cat >>"$W/prep" <<'EOF'
phase=$1 n=$2
for s in "$W"/cp/*; do [ -S "$s" ] && ssh -o ControlPath="$s" -O exit x >/dev/null 2>&1; rm -f "$s"; done
if [ "$phase" = first ]; then head -n "$n" "$W/nodes.tsv" | while read -r name idx host dir; do find "$dir" -mindepth 1 -delete; done; fi
exit 0
EOF
chmod 755 "$W/ssh-one" "$W/run" "$W/prep"

# check N: every node converged (content); snapshot for "second" comparisons
check() {
  local n=$1 bad=0
  while read -r name idx host dir; do
    t=$(<"$W/workload/node.conf.j2"); t=${t//'{{ node_name }}'/$name}; t=${t//'{{ node_index }}'/$idx}
    cmp -s "$dir/motd" "$W/workload/motd" && cmp -s "$dir/settings.conf" "$W/workload/settings.conf" \
      && [ "$(cat "$dir/node.conf")" = "$t" ] && [ "$(cat "$dir/ran")" = ok ] \
      && [ "$(stat -c %a "$dir/motd" "$dir/settings.conf" "$dir/node.conf" | sort -u)" = 644 ] || bad=$((bad + 1))
  done < <(head -n "$n" "$W/nodes.tsv")
  return $bad
}
snap() { head -n "$1" "$W/nodes.tsv" | while read -r _ _ _ dir; do stat -c '%n %i %s %Y %Z' "$dir"/motd "$dir"/settings.conf "$dir"/node.conf "$dir"/ran; done; }

# ---- measure ---------------------------------------------------------------------------------------
declare -A MED
RESULTS="$W/results.tsv"; : >"$RESULTS"
for n in "${NLIST[@]}"; do
  for tool in "${TOOLS[@]}"; do
    if [ "$tool" = ansible ] && [ -z "$APB" ]; then log "ansible-playbook not installed: skipping the ansible row"; continue; fi
    for phase in first second; do
      if [ "$phase" = second ]; then "$W/prep" first "$n"; "${IN_CTL[@]}" "$W/run" "$tool" "$n" || die "$tool N=$n converge run failed (log: $W/logs/$tool-$n.log)"; snap "$n" >"$W/snap"; fi
      "${IN_CTL[@]}" hyperfine -N -i --warmup 1 --runs "$RUNS" --prepare "$W/prep $phase $n" --export-json "$W/h.json" "$W/run $tool $n" >/dev/null 2>&1 \
        || die "hyperfine failed for $tool N=$n"
      check "$n" || die "$tool N=$n $phase: nodes not converged (log: $W/logs/$tool-$n.log)"
      if [ "$phase" = second ]; then snap "$n" | cmp -s - "$W/snap" || die "$tool N=$n: the second run changed files"; fi
      med=$(jq '.results[0].median' "$W/h.json"); lo=$(jq '.results[0].min' "$W/h.json"); hi=$(jq '.results[0].max' "$W/h.json")
      fails=$(jq '[.results[0].exit_codes[] | select(. != 0)] | length' "$W/h.json")
      [ "$fails" = 0 ] || die "$tool N=$n $phase: $fails runs exited non-zero (log: $W/logs/$tool-$n.log)"
      MED[$tool.$n.$phase]=$med
      printf '%s\t%s\t%s\t%.3f\t%.3f\t%.3f\n' "$tool" "$n" "$phase" "$med" "$lo" "$hi" >>"$RESULTS"
      log "$(printf '%-14s N=%-3s %-6s median %.3f s (%.3f-%.3f)' "$tool" "$n" "$phase" "$med" "$lo" "$hi")"
    done
  done
done

# ---- report ------------------------------------------------------------------------------------------
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b == 0) print "-"; else printf "%.1f×", a / b }'; }
{
  echo "bench/bootstrap.sh --nodes $NODES_ARG --runs $RUNS   ($(date -u +%FT%TZ), $(nproc) CPUs, $(uname -r), OpenSSH $(ssh -V 2>&1 | cut -d, -f1), node $(node -v)${APB:+, $($APB --version | head -1)})"
  echo
  echo "| tool | N | first (s, median, min–max) | second (s) |"
  echo "| --- | --- | --- | --- |"
  awk -F'\t' '{ k=$1" "$2; if ($3=="first") f[k]=sprintf("%.3f (%.3f–%.3f)", $4, $5, $6); else s[k]=sprintf("%.3f (%.3f–%.3f)", $4, $5, $6); if (!(k in o)) { o[k]=++i; key[i]=k } }
       END { for (j=1; j<=i; j++) { split(key[j], p, " "); printf "| %s | %s | %s | %s |\n", p[1], p[2], f[key[j]], s[key[j]] } }' "$RESULTS"
  echo
  echo "| N | phase | ansible / kickstand | kickstand / ssh floor | ansible / kickstand-cli | kickstand-cli / ssh floor |"
  echo "| --- | --- | --- | --- | --- | --- |"
  for n in "${NLIST[@]}"; do for phase in first second; do
    k=${MED[kickstand.$n.$phase]:-}; kc=${MED[kickstand-cli.$n.$phase]:-}; a=${MED[ansible.$n.$phase]:-}; s=${MED[ssh-x25519.$n.$phase]:-}
    echo "| $n | $phase | $(ratio "$a" "$k") | $(ratio "$k" "$s") | $(ratio "$a" "$kc") | $(ratio "$kc" "$s") |"
  done; done
} | tee "${OUT:-/dev/null}"

if [ "$PEERS" = 1 ]; then
  P=$REPO/../shared/peer-bench/bootstrap-peers.sh
  if [ -x "$P" ]; then
    log "running the peers on their own nodes: $P --candidate …"
    # the peers this machine has (no apt-get from here): plain ssh both KEX, ansible with pipelining
    "$P" --nodes "$NODES_ARG" --no-install --tools "${PEER_TOOLS:-ssh,ssh-x25519,ansible-pipe}" \
      --candidate "exec node $W/build/src/bootstrap/workload-main.js --inventory {inventory}" --candidate-name kickstand ${OUT:+--out "$OUT.peers.md"}
  else
    log "no $P: skipping the peer run"
  fi
fi
