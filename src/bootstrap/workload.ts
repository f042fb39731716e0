/**
 * @module bootstrap/workload
 * A file-and-command workload over pinned SSH, on many nodes at once: the format of the
 * bootstrap benchmark's inventory (bench/bootstrap.sh, ../shared/peer-bench/bootstrap-peers.sh
 * `--candidate`). Per node, one connection and one exec do everything: each file is replaced
 * only if its content or mode differs (temp file, chmod, mv), `commands` run in order, the
 * last one only when `creates` does not exist; the node prints `changed=K`. Host keys come from
 * a known_hosts file (the inventory's), with the same hostVerifier pinning as the daemon.
 */
import { readFileSync } from 'node:fs';
import { ErrorCode, KickstandError } from '../errors';
import { quote } from './shell';
import { SshSession, type SocketFactory } from './ssh';

export interface WorkloadFile {
  path: string;
  mode: string;
  content?: string;
  template?: string;
}

export interface WorkloadNode {
  name: string;
  index: number;
  host: string;
  port: number;
  user: string;
  dir: string;
}

export interface WorkloadInventory {
  key: string;
  known_hosts: string;
  workload: { files: WorkloadFile[]; commands: string[]; creates?: string };
  nodes: WorkloadNode[];
}

export interface WorkloadResult {
  node: string;
  ok: boolean;
  changed: number;
  error?: string;
}

/** known_hosts lines (`host key-type base64`, `[host]:port …`) → pins per `host:port`. */
export function parseKnownHosts(text: string): Map<string, string[]> {
  const pins = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const parts = line.trim().split(/\s+/);
    if (parts.length < 3 || parts[0]!.startsWith('#')) continue;
    for (const h of parts[0]!.split(',')) {
      const m = /^\[(.+)\]:(\d+)$/.exec(h);
      const id = m ? `${m[1]}:${m[2]}` : `${h}:22`;
      (pins.get(id) ?? pins.set(id, []).get(id)!).push(`${parts[1]} ${parts[2]}`);
    }
  }
  return pins;
}

function render(t: string, n: WorkloadNode): string {
  return t.replace(/\{\{ *node_name *\}\}/g, n.name).replace(/\{\{ *node_index *\}\}/g, String(n.index));
}

/** The node script: fixed text, data as quoted base64 arguments (reliability.md S04). */
export function nodeScript(inv: WorkloadInventory, n: WorkloadNode): string {
  const lines = [
    'set -eu',
    'c=0',
    'put() {',
    '  if [ -f "$1" ] && [ "$(stat -c %a "$1")" = "$2" ] && printf %s "$3" | base64 -d | cmp -s - "$1"; then return 0; fi',
    '  printf %s "$3" | base64 -d > "$1.ks-new"; chmod "$2" "$1.ks-new"; mv -f "$1.ks-new" "$1"; c=$((c + 1))',
    '}',
  ];
  for (const f of inv.workload.files) {
    const body = f.template !== undefined ? render(f.template, n) : (f.content ?? '');
    lines.push(
      `put ${quote(`${n.dir}/${f.path}`)} ${quote(String(Number.parseInt(f.mode, 8).toString(8)))} ${quote(Buffer.from(body).toString('base64'))}`,
    );
  }
  const cmds = inv.workload.commands.map((c) => c.replace(/\{dir\}/g, n.dir));
  const creates = inv.workload.creates?.replace(/\{dir\}/g, n.dir);
  cmds.forEach((c, i) => {
    if (creates !== undefined && i === cmds.length - 1)
      lines.push(`if [ ! -e ${quote(creates)} ]; then ${c}; c=$((c + 1)); fi`);
    else lines.push(c);
  });
  lines.push(`echo ${quote(n.name)} "changed=$c"`);
  return lines.join('\n') + '\n';
}

export async function runWorkload(
  inv: WorkloadInventory,
  opts: { parallelism: number; readyTimeoutMs: number; timeoutMs: number; connect?: SocketFactory },
): Promise<WorkloadResult[]> {
  const privateKey = readFileSync(inv.key, 'utf8');
  const pins = parseKnownHosts(readFileSync(inv.known_hosts, 'utf8'));
  const queue = [...inv.nodes];
  const results: WorkloadResult[] = [];
  const one = async (n: WorkloadNode): Promise<WorkloadResult> => {
    const hostKeys = pins.get(`${n.host}:${n.port}`) ?? [];
    let s: SshSession | undefined;
    try {
      s = await SshSession.open(
        { name: n.name, address: n.host, port: n.port, user: n.user },
        {
          privateKey,
          hostKeys,
          readyTimeoutMs: opts.readyTimeoutMs,
          ...(opts.connect ? { connect: opts.connect } : {}),
        },
      );
      const r = await s.exec('sh -s', { stdin: nodeScript(inv, n), timeoutMs: opts.timeoutMs });
      if (r.code !== 0)
        throw new KickstandError(
          ErrorCode.BOOTSTRAP_FAILED,
          `exit ${r.code}: ${r.stderr.trim().split('\n').pop() ?? ''}`,
        );
      const m = /changed=(\d+)/.exec(r.stdout);
      return { node: n.name, ok: true, changed: m ? Number(m[1]) : 0 };
    } catch (e) {
      return { node: n.name, ok: false, changed: 0, error: (e as Error).message };
    } finally {
      s?.close();
    }
  };
  const worker = async () => {
    for (let n = queue.shift(); n; n = queue.shift()) results.push(await one(n));
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.parallelism, queue.length)) }, worker));
  return results;
}
