/**
 * @module bootstrap/wireguard
 * The node side of the WireGuard mesh. Kickstand renders each member's wg-quick config from
 * the mesh table (interface address, listen port, one [Peer] per other member with exactly its
 * /32, reliability.md S08) with a structured writer from validated values; the private key is
 * generated on the node (`wg genkey`) and referenced by path, never read back. Applying is
 * idempotent: the file is replaced only when different, the interface is created only when
 * missing (kernel WireGuard, else wireguard-go), and `wg syncconf` changes only what differs,
 * so peers are added and removed live without disturbing existing sessions.
 */
import { isIpv4, parseCidr } from '../model/ipv4';
import { ErrorCode, KickstandError } from '../errors';
import { WG_KEY, type MeshMember } from '../model/mesh-member';
import { shCommand } from './shell';

export interface MeshSettings {
  cidr: string;
  listenPort: number;
  interface: string;
  configDir: string;
  persistentKeepalive: number;
}

const HOSTNAME = /^[A-Za-z0-9]([A-Za-z0-9.-]{0,252}[A-Za-z0-9])?$/;

/** Renders `self`'s wg-quick file with every other member that has a key as a peer. */
export function renderConfig(self: MeshMember, members: readonly MeshMember[], s: MeshSettings): string {
  const prefix = parseCidr(s.cidr)!.prefix;
  const keyPath = `${s.configDir}/${s.interface}.key`;
  const lines = [
    '# Managed by Kickstand: regenerated on every mesh change; local edits are overwritten.',
    '[Interface]',
    `Address = ${checkAddr(self.address, s)}/${prefix}`,
    `ListenPort = ${s.listenPort}`,
    `PostUp = wg set %i private-key ${keyPath}`,
  ];
  const seen = new Set<string>([self.address]);
  for (const m of [...members].sort((a, b) => a.address.localeCompare(b.address, 'en', { numeric: true }))) {
    if (m.host === self.host || m.publicKey === null) continue;
    if (seen.has(m.address)) throw bad(`mesh address ${m.address} is assigned twice`);
    seen.add(m.address);
    lines.push(
      '',
      '[Peer]',
      `# ${m.host}`,
      `PublicKey = ${checkKey(m.publicKey, m.host)}`,
      `AllowedIPs = ${checkAddr(m.address, s)}/32`,
    );
    if (m.endpoint !== null)
      lines.push(`Endpoint = ${checkEndpoint(m.endpoint, m.host)}:${m.listenPort ?? s.listenPort}`);
    if (s.persistentKeepalive > 0) lines.push(`PersistentKeepalive = ${s.persistentKeepalive}`);
  }
  return lines.join('\n') + '\n';
}

/** Node script: generate the keypair once (0600), print the public key. Args: dir, iface. */
export const KEYS_SCRIPT = `set -eu
dir=$1; ifc=$2
umask 077
mkdir -p "$dir"
c=0
if [ ! -s "$dir/$ifc.key" ]; then
  wg genkey > "$dir/$ifc.key.ks-new"
  mv -f "$dir/$ifc.key.ks-new" "$dir/$ifc.key"
  c=1
fi
echo "public_key=$(wg pubkey < "$dir/$ifc.key")"
echo "changed=$c"
`;

/**
 * Node script: install the config read from stdin and apply it live. Args: dir, iface, address/prefix.
 * A lock serialises concurrent applies on the node (its own plan and a peer update).
 */
const APPLY_SCRIPT = `set -eu
dir=$1; ifc=$2; addr=$3
umask 077
mkdir -p "$dir"
if command -v flock >/dev/null 2>&1; then exec 9>"$dir/.$ifc.ks-lock"; flock -w 60 9; fi
c=0; why=
cat > "$dir/$ifc.conf.ks-new"
if [ -f "$dir/$ifc.conf" ] && cmp -s "$dir/$ifc.conf.ks-new" "$dir/$ifc.conf"; then
  rm -f "$dir/$ifc.conf.ks-new"
else
  mv -f "$dir/$ifc.conf.ks-new" "$dir/$ifc.conf"; c=1; why="$why file"
fi
if ! ip link show dev "$ifc" >/dev/null 2>&1; then
  # fd 9 (the lock) must not leak into the long-lived wireguard-go daemon
  ip link add dev "$ifc" type wireguard 2>/dev/null || wireguard-go "$ifc" 9>&- </dev/null >/dev/null 2>&1
  c=1; why="$why created"
fi
# wg(8) syncconf form: the wg-quick file minus wg-quick keys, plus the private key (read on the
# node, 0600, deleted right after), since syncconf would otherwise clear the interface's key.
{ echo '[Interface]'; echo "PrivateKey = $(cat "$dir/$ifc.key")"
  grep -v -E '^[[:space:]]*(\\[Interface\\]|Address|PostUp|PostDown|PreUp|PreDown|DNS|MTU|Table|SaveConfig)[[:space:]]*=?' "$dir/$ifc.conf"
} > "$dir/.$ifc.setconf"
# What syncconf may change, minus the peers' endpoints (WireGuard roams them) and counters;
# sorted, since wireguard-go lists peers in no fixed order.
state() { wg show "$ifc" dump | awk -F'\t' 'NR == 1 { print $1, $3; next } { print $1, $4, $8 }' | sort | sha256sum; }
before=$(state)
wg syncconf "$ifc" "$dir/.$ifc.setconf"
rm -f "$dir/.$ifc.setconf"
[ "$before" = "$(state)" ] || { c=1; why="$why peers"; }
if ! ip -o -4 address show dev "$ifc" | grep -q " inet $addr "; then ip address replace "$addr" dev "$ifc"; c=1; why="$why address"; fi
if ! ip -o link show dev "$ifc" | grep -q '[<,]UP[,>]'; then ip link set up dev "$ifc"; c=1; why="$why up"; fi
echo "changed=$c"
echo "why=$why"
`;

/**
 * The command that installs and applies `self`'s config (APPLY_SCRIPT), and its stdin (the
 * rendered config): the mesh.config step and every peer update (mesh-push.ts) run exactly this.
 */
export function applyCommand(
  self: MeshMember,
  members: readonly MeshMember[],
  s: MeshSettings,
): { command: string; stdin: string } {
  const args = [s.configDir, s.interface, `${self.address}/${parseCidr(s.cidr)!.prefix}`];
  return { command: shCommand(APPLY_SCRIPT, 'kickstand-mesh', args), stdin: renderConfig(self, members, s) };
}

export function checkKey(k: string, host: string): string {
  if (!WG_KEY.test(k)) throw bad(`the WireGuard public key reported by ${host} is not a valid key`);
  return k;
}

function checkAddr(a: string, s: MeshSettings): string {
  if (!isIpv4(a)) throw bad(`mesh address ${JSON.stringify(a)} is not IPv4`);
  void s;
  return a;
}

function checkEndpoint(e: string, host: string): string {
  if (!isIpv4(e) && !HOSTNAME.test(e))
    throw bad(`endpoint of ${host} (${JSON.stringify(e)}) is not an address or host name`);
  return e;
}

function bad(message: string): KickstandError {
  return new KickstandError(ErrorCode.BOOTSTRAP_FAILED, message);
}
