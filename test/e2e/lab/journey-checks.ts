/**
 * @module test/e2e/lab/journey-checks
 * What the journey lab asserts after the disk boot (docs/lab.md "The journey lab"), over what
 * journey.ts recorded: Kickstand's timeline (the bootstrap ran by itself, its mesh and k3s
 * steps), Kickstand's mesh table, and what each node showed over SSH (its WireGuard peers and
 * handshakes, pings over the mesh, the k3s stand-in's join records), then the rebuild of the
 * reimage machine. Pure functions, so a failure names the step (test/e2e/lab-checks.test.ts).
 */
import type { HostEvent } from '../../../src/model/event';
import type { Check } from './checks';
import type { JourneyRecord, MeshRound, NodeView } from './journey';
import type { MachineDef } from './machines';
import { dataText } from './timeline';

/** A WireGuard handshake older than this is not "recent" (wg(8): re-keyed every 2 minutes while traffic flows). */
export const HANDSHAKE_MAX_AGE_S = 180;

/** Every journey check. */
export function checkBootstrapJourney(machines: MachineDef[], rec: JourneyRecord, events: HostEvent[]): Check[] {
  const c: Check[] = [];
  for (const m of machines) c.push(...checkBootstrapRan(m, rec, events));
  const join = rec.rounds.find((r) => r.name === 'join');
  c.push(...checkRound(machines, join, 'join'));
  const target = machines.find((m) => m.reimage);
  if (target) c.push(...checkRebuild(machines, target, rec, events));
  return c;
}

/** Kickstand bootstrapped the host by itself: trigger cause, mesh and k3s steps, `ready`. */
export function checkBootstrapRan(m: MachineDef, rec: JourneyRecord, events: HostEvent[]): Check[] {
  const c: Check[] = [];
  const add = (step: string, ok: boolean, detail: string): void => void c.push({ machine: m.name, step, ok, detail });
  const ev = events.filter((e) => e.host === m.name);
  const started = ev.filter((e) => e.kind === 'host.state' && e.data.to === 'bootstrapping');
  const first = started[0];
  const cause = first ? dataText(first.data.cause ?? first.data.reason ?? first.message) : '';
  add(
    'bootstrap by itself',
    first !== undefined && /answered on SSH|first-boot callback|resumed/.test(cause),
    first ? `installed → bootstrapping: ${cause}` : 'never went bootstrapping',
  );
  const steps = ev.filter((e) => e.kind === 'bootstrap.step' && e.level !== 'error' && e.level !== 'warn');
  const done = (name: string) => steps.find((e) => e.data.step === name);
  const mesh = ['mesh.keys', 'mesh.config', 'mesh.peers'].map(done);
  add(
    'mesh steps',
    mesh.every((e) => e !== undefined),
    mesh.every((e) => e !== undefined)
      ? mesh
          .map((e) => e.message)
          .join(' | ')
          .slice(0, 240)
      : `missing: ${['mesh.keys', 'mesh.config', 'mesh.peers'].filter((_, i) => !mesh[i]).join(', ')}`,
  );
  const k3s = done('k3s.join');
  const role = m.role ?? 'agent';
  add(
    'k3s step',
    k3s !== undefined && new RegExp(`^k3s\\.join: .*${role}.*from the bundle`).test(k3s.message),
    k3s ? k3s.message : 'no successful k3s.join step',
  );
  const ready = rec.ready[m.name] ?? [];
  add(
    'ready',
    ready.length >= 1,
    ready.length ? `ready at ${ready.map((t) => `${t.toFixed(0)} s`).join(' and ')}` : 'never ready',
  );
  return c;
}

/** One observation round: every node's WireGuard view, pings, the cluster stand-in, the inventory. */
export function checkRound(machines: MachineDef[], round: MeshRound | undefined, label: string): Check[] {
  const c: Check[] = [];
  const sfx = label === 'join' ? '' : ` (${label})`;
  if (!round) {
    for (const m of machines) c.push({ machine: m.name, step: `mesh${sfx}`, ok: false, detail: 'not observed' });
    return c;
  }
  const server = machines.find((m) => m.role === 'server');
  const serverRow = round.mesh.find((r) => r.host === server?.name);
  for (const m of machines) {
    const add = (step: string, ok: boolean, detail: string): void =>
      void c.push({ machine: m.name, step: `${step}${sfx}`, ok, detail });
    const v = round.nodes.find((n) => n.machine === m.name);
    const self = round.mesh.find((r) => r.host === m.name);
    if (!v || v.error || !self) {
      add('mesh', false, v?.error ?? (self ? 'not observed' : 'not in Kickstand’s mesh table'));
      continue;
    }
    const others = round.mesh.filter((r) => r.host !== m.name);
    add(
      'wg key',
      v.publicKey !== undefined && v.publicKey === self.publicKey,
      `node wg0 key ${v.publicKey ?? '?'} ${v.publicKey === self.publicKey ? '=' : '≠'} Kickstand's ${self.publicKey ?? 'none'} (mesh ${self.address})`,
    );
    const bad: string[] = [];
    for (const o of others) {
      const p = v.peers?.find((x) => x.publicKey === o.publicKey);
      const age = p && v.now !== undefined && p.latestHandshake > 0 ? v.now - p.latestHandshake : undefined;
      if (!p) bad.push(`${o.host}'s key ${o.publicKey ?? 'none'} missing`);
      else if (p.allowedIps !== `${o.address}/32`) bad.push(`${o.host} allowed-ips ${p.allowedIps}`);
      else if (age === undefined || age > HANDSHAKE_MAX_AGE_S)
        bad.push(`${o.host}: ${age === undefined ? 'no handshake' : `last handshake ${age} s ago`}`);
    }
    const stale = (v.peers ?? []).filter((p) => !others.some((o) => o.publicKey === p.publicKey));
    if (stale.length) bad.push(`unknown peer key(s) ${stale.map((p) => p.publicKey).join(', ')}`);
    add(
      'wg peers',
      bad.length === 0 && others.length > 0,
      bad.length
        ? bad.join('; ')
        : `wg show: ${others.map((o) => `${o.host} ${o.address}/32`).join(', ')} with a handshake within ${HANDSHAKE_MAX_AGE_S} s`,
    );
    add(
      'mesh ping',
      v.pings.length === others.length && v.pings.length > 0 && v.pings.every((p) => p.ok),
      v.pings.map((p) => `→ ${p.target}: ${p.ok ? '' : 'FAILED '}${p.summary}`).join('; ') || 'no ping',
    );
    c.push(...checkCluster(m, v, self.address, serverRow?.address, round, sfx));
    const inv = round.inventory;
    const mesh = inv && 'hostvars' in inv ? inv.hostvars[m.name]?.mesh_address : undefined;
    add(
      'inventory',
      mesh === self.address,
      inv && 'error' in inv
        ? `kickstand inventory: ${inv.error}`
        : `kickstand inventory: ${m.name} mesh_address ${dataText(mesh ?? 'missing')}`,
    );
  }
  return c;
}

/** The k3s stand-in: the server listens and recorded the agent's join from its mesh address. */
function checkCluster(
  m: MachineDef,
  v: NodeView,
  selfAddr: string,
  serverAddr: string | undefined,
  round: MeshRound,
  sfx: string,
): Check[] {
  const add = (ok: boolean, detail: string): Check => ({ machine: m.name, step: `cluster${sfx}`, ok, detail });
  if (m.role === 'server') {
    const agents = round.mesh.filter((r) => r.host !== m.name);
    const missing = agents.filter(
      (a) =>
        !(v.agents ?? []).some((l) => {
          const [name, from, ts] = l.split(' ');
          return name === a.host && from === a.address && Number(ts) >= round.at - 3600;
        }),
    );
    return [
      add(
        v.k3sUnit === 'k3s' && v.k3sActive === 'active' && missing.length === 0,
        `${v.k3sUnit ?? 'no k3s unit'} ${v.k3sActive ?? ''}; joined: ${(v.agents ?? []).join(', ') || 'nobody'}${missing.length ? `; missing a join from ${missing.map((a) => `${a.host} via ${a.address}`).join(', ')}` : ''}`,
      ),
    ];
  }
  const want = serverAddr ? `https://${serverAddr}:6443` : undefined;
  const joined = v.joined?.match(/^(\d+) joined (\S+) from (\S+)$/);
  return [
    add(
      v.k3sUnit === 'k3s-agent' &&
        v.k3sActive === 'active' &&
        want !== undefined &&
        v.agentUrl === want &&
        joined?.[2] === m.name &&
        joined[3] === selfAddr,
      `${v.k3sUnit ?? 'no k3s-agent unit'} ${v.k3sActive ?? ''}; K3S_URL ${v.agentUrl ?? 'unset'}${want && v.agentUrl !== want ? ` (want ${want})` : ''}; ${v.joined ? `server said: ${v.joined.replace(/^\d+ /, '')}` : 'not joined'}`,
    ),
  ];
}

/**
 * The rebuild: reimage removed the old key from the other node at once; the reinstalled
 * system's new host key is pinned and the old one refused; it rejoined with a new WireGuard
 * key, the other node lists only the new one, and the cluster stand-in saw the join again.
 */
export function checkRebuild(
  machines: MachineDef[],
  target: MachineDef,
  rec: JourneyRecord,
  events: HostEvent[],
): Check[] {
  const c: Check[] = [];
  const add = (step: string, ok: boolean, detail: string): void =>
    void c.push({ machine: target.name, step, ok, detail });
  const rb = rec.rebuild;
  if (!rb) {
    add('rebuild', false, 'the rebuild did not run (an earlier step failed)');
    return c;
  }
  const left = events.find((e) => e.host === target.name && e.kind === 'mesh.left');
  add(
    'reimage leaves mesh',
    rb.afterReimage?.state === 'armed' &&
      (rb.afterReimage.sshHostKeys ?? []).length === 0 &&
      rb.otherPeersAfterReimage !== undefined &&
      rb.oldWgKey !== null &&
      !rb.otherPeersAfterReimage.includes(rb.oldWgKey),
    `${rb.output}; state ${rb.afterReimage?.state ?? '?'}, pinned keys ${rb.afterReimage?.sshHostKeys.length ?? '?'}; ${rb.other}'s wg0 peers ${rb.otherPeersError ?? (rb.otherPeersAfterReimage?.includes(rb.oldWgKey ?? '') ? 'STILL list the old key' : 'no longer list the old key')}${left ? ` (${left.message})` : ''}`,
  );
  const oldSet = new Set(rb.oldHostKeys.map(keyOf));
  const fresh = (rb.newHostKeys ?? []).map(keyOf);
  const r = rec.rounds.find((x) => x.name === 'rejoin');
  add(
    'new host key pinned',
    fresh.length > 0 && fresh.every((k) => !oldSet.has(k)),
    fresh.length
      ? `pinned now ${fresh.map((k) => k.slice(0, 40)).join(', ')}…; before ${[...oldSet].map((k) => k.slice(0, 40)).join(', ')}…`
      : 'no host key pinned after the rebuild',
  );
  add(
    'old host key refused',
    rb.oldKeyLogin?.refused === true,
    rb.oldKeyLogin ? `ssh trusting only the old key: ${rb.oldKeyLogin.said}` : 'not tried',
  );
  const self = r?.mesh.find((x) => x.host === target.name);
  const other = r?.nodes.find((n) => n.machine === rb.other);
  add(
    'new wg key',
    self?.publicKey !== undefined && self.publicKey !== null && self.publicKey !== rb.oldWgKey,
    `mesh key before ${rb.oldWgKey ?? 'none'}, after ${self?.publicKey ?? 'none'}`,
  );
  add(
    'peer drops old key',
    other?.peers !== undefined &&
      !other.peers.some((p) => p.publicKey === rb.oldWgKey) &&
      other.peers.some((p) => p.publicKey === self?.publicKey),
    other?.peers
      ? `${rb.other}'s wg0 peers: ${other.peers.map((p) => p.publicKey).join(', ')}`
      : `${rb.other} not observed: ${other?.error ?? 'no rejoin round'}`,
  );
  c.push(...checkRound(machines, r, 'rejoin'));
  const server = r?.nodes.find((n) => machines.find((m) => m.name === n.machine)?.role === 'server');
  const rejoins = (server?.agents ?? []).filter((l) => {
    const [name, , ts] = l.split(' ');
    return name === target.name && Number(ts) >= rb.at;
  });
  if (target.role !== 'server')
    add(
      'cluster rejoin',
      rejoins.length > 0,
      rejoins.length ? `server recorded ${rejoins.join(', ')} after the reimage` : 'no join after the reimage',
    );
  return c;
}

/** "type base64" of an OpenSSH public key line. */
function keyOf(line: string): string {
  return line.split(' ').slice(0, 2).join(' ');
}
