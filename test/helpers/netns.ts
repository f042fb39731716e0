/**
 * Network namespaces for tests with real clients. Addresses come from 198.18.0.0/15 only
 * (RFC 2544 benchmarking range), never another private or public range. Every namespace a test
 * creates is deleted in `cleanup()`, which tests call from `after`/`finally` even on failure.
 */
import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export function sh(cmd: string, args: string[], opts: { input?: string; timeoutMs?: number } = {}): string {
  return execFileSync(cmd, args, {
    encoding: 'utf8',
    input: opts.input,
    timeout: opts.timeoutMs ?? 30_000,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

/** A short unique tag for namespace and link names (IFNAMSIZ is 16). */
export function uniqueTag(prefix: string): string {
  return `${prefix}${randomBytes(3).toString('hex')}`;
}

export interface Netns {
  name: string;
  /** Run a command inside the namespace and return stdout. */
  exec(cmd: string, args: string[], opts?: { input?: string; timeoutMs?: number }): string;
  /** Start a long-running process inside the namespace. */
  spawn(cmd: string, args: string[], opts?: SpawnOptions): ChildProcess;
}

export function netns(name: string): Netns {
  return {
    name,
    exec: (cmd, args, opts) => sh('ip', ['netns', 'exec', name, cmd, ...args], opts),
    spawn: (cmd, args, opts) => spawn('ip', ['netns', 'exec', name, cmd, ...args], { stdio: 'pipe', ...opts }),
  };
}

/** SIGKILLs every process inside namespace `name` (one our test created); quiet if it is gone. */
export function killNamespace(name: string): void {
  try {
    const pids = sh('ip', ['netns', 'pids', name]).split(/\s+/).filter(Boolean);
    for (const p of pids) {
      try {
        process.kill(Number(p), 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  } catch {
    /* ns already gone */
  }
}

/**
 * Owns namespaces and the processes started in them; `cleanup()` kills those processes by PID
 * (only ours) and deletes the namespaces (which removes their veths).
 */
export class Lab {
  private readonly namespaces: string[] = [];
  private readonly children: ChildProcess[] = [];

  addNamespace(name: string): Netns {
    sh('ip', ['netns', 'add', name]);
    this.namespaces.push(name);
    const ns = netns(name);
    ns.exec('ip', ['link', 'set', 'lo', 'up']);
    return ns;
  }

  /** A veth pair between two namespaces, each end given `addrA`/`addrB` (CIDR) and set up. */
  link(a: Netns, ifA: string, addrA: string | null, b: Netns, ifB: string, addrB: string | null): void {
    sh('ip', ['link', 'add', ifA, 'netns', a.name, 'type', 'veth', 'peer', 'name', ifB, 'netns', b.name]);
    for (const [ns, ifn, addr] of [
      [a, ifA, addrA],
      [b, ifB, addrB],
    ] as const) {
      if (addr) ns.exec('ip', ['addr', 'add', addr, 'dev', ifn]);
      ns.exec('ip', ['link', 'set', ifn, 'up']);
    }
  }

  track(child: ChildProcess): ChildProcess {
    this.children.push(child);
    return child;
  }

  spawnIn(ns: Netns, cmd: string, args: string[], opts?: SpawnOptions): ChildProcess {
    return this.track(ns.spawn(cmd, args, opts));
  }

  async cleanup(): Promise<void> {
    for (const c of this.children.splice(0)) {
      if (c.exitCode === null && c.signalCode === null && c.pid !== undefined) {
        try {
          process.kill(c.pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
    }
    for (const name of this.namespaces.splice(0).reverse()) {
      // Processes started with `ip netns exec` are children of ip; kill anything left in the ns.
      killNamespace(name);
      try {
        sh('ip', ['netns', 'del', name]);
      } catch {
        /* already deleted */
      }
    }
  }
}
