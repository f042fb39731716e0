/**
 * The layers of src/ and the checker that keeps imports pointing down (docs/architecture.md,
 * "Layers"). test/architecture/layers.test.ts runs it over src/ in CI.
 *
 * Every relative import counts: `import` (including `import type`), `export … from`,
 * `import(…)` (also `typeof import(…)`) and `require(…)`, as TypeScript's own pre-processor
 * (`ts.preProcessFile`) finds them; comments and strings are not mistaken for imports.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import ts from 'typescript';

/** One layer: what it holds and its members (paths relative to src/; a folder ends in `/`). */
export interface Layer {
  readonly name: string;
  readonly holds: string;
  readonly members: readonly string[];
}

/**
 * THE table, lowest layer first. A file may import from its own layer or any layer below it,
 * never from a layer above. A file's layer is that of its longest matching member, so a file
 * can sit below the rest of its folder (the pure codecs in dhcp/ and tftp/).
 */
export const LAYERS: readonly Layer[] = [
  {
    name: 'base',
    holds: 'leaf utilities every layer may use; they import nothing from src/ above them',
    members: ['errors.ts', 'log.ts', 'version.ts', 'metrics.ts', 'lifecycle.ts', 'native/'],
  },
  {
    name: 'model',
    holds: 'plain types and value parsers (host, state machine, MAC, IPv4, lease, event, token, SSH key)',
    members: ['model/'],
  },
  {
    name: 'config',
    holds: 'the settings schema, one section per subsystem, loaded and frozen',
    members: ['config/'],
  },
  {
    name: 'codecs',
    holds: 'pure codecs (bytes in, bytes out) and the one pure boot decision',
    members: [
      'boot/',
      'dhcp/packet.ts',
      'dhcp/options.ts',
      'dhcp/constants.ts',
      'dhcp/suboptions.ts',
      'tftp/packet.ts',
    ],
  },
  {
    name: 'store',
    holds: 'the Store interface and its SQLite and PostgreSQL implementations',
    members: ['store/'],
  },
  {
    name: 'services',
    holds: 'what the daemon does: DHCP, TFTP, hosts, install, render, bootstrap, mesh, BMC, …',
    members: [
      'timeline.ts',
      'hosts/',
      'dhcp/',
      'tftp/',
      'auth/',
      'render/',
      'install/',
      'images/',
      'backup/',
      'bmc/',
      'mesh/',
      'bootstrap/',
      'inventory/',
      'init/',
    ],
  },
  {
    name: 'http/cli',
    holds: 'the HTTP app and routes, and the CLI commands (API clients)',
    members: ['http/', 'cli/'],
  },
  {
    name: 'daemon',
    holds: 'process entry points: the daemon that builds everything, and the commands that start it',
    members: ['daemon/', 'cli/main.ts', 'cli/commands/serve.ts'],
  },
];

/** One relative import: `from` and `to` are paths relative to src/ (`dhcp/reply.ts`). */
export interface Edge {
  readonly from: string;
  readonly to: string;
  /** 1-based line of the import in `from`. */
  readonly line: number;
  /** The module specifier as written (`'./scope'`). */
  readonly specifier: string;
}

export interface Graph {
  /** Every .ts file under src/, relative to it. */
  readonly files: readonly string[];
  readonly edges: readonly Edge[];
  /** Relative imports that resolve to no file (so a parsing slip cannot hide an edge). */
  readonly unresolved: readonly Edge[];
}

/** An edge that is known to be wrong and owned by another change: from-file -> to-file. */
export interface KnownViolation {
  readonly from: string;
  readonly to: string;
  readonly owner: string;
}

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...walk(p));
    else if (e.name.endsWith('.ts')) out.push(p);
  }
  return out;
}

/**
 * Resolves a relative specifier as Node16 resolution does for our sources (.ts, then index.ts):
 * the path below srcDir, 'outside' for a file outside it, null if nothing matches.
 */
function resolve(srcDir: string, fromAbs: string, spec: string): string | null {
  const base = join(dirname(fromAbs), spec);
  for (const c of [base + '.ts', join(base, 'index.ts'), base.replace(/\.js$/, '.ts'), base]) {
    if (existsSync(c) && statSync(c).isFile()) {
      const rel = relative(srcDir, c);
      return rel.startsWith('..') ? 'outside' : rel.split('\\').join('/');
    }
  }
  return null;
}

/** Reads every src/**\/*.ts file and its relative imports. */
export function readGraph(srcDir: string): Graph {
  const files = walk(srcDir)
    .map((f) => relative(srcDir, f).split('\\').join('/'))
    .sort();
  const edges: Edge[] = [];
  const unresolved: Edge[] = [];
  for (const from of files) {
    const abs = join(srcDir, from);
    const text = readFileSync(abs, 'utf8');
    for (const ref of ts.preProcessFile(text, true, true).importedFiles) {
      if (!ref.fileName.startsWith('.')) continue; // packages and node: builtins
      const line = text.slice(0, ref.pos).split('\n').length;
      const to = resolve(srcDir, abs, ref.fileName);
      if (to === 'outside') continue;
      if (to === null) unresolved.push({ from, to: ref.fileName, line, specifier: ref.fileName });
      else edges.push({ from, to, line, specifier: ref.fileName });
    }
  }
  return { files, edges, unresolved };
}

/** The top-level node of a path: `dhcp` for `dhcp/reply.ts`, `lifecycle.ts` for `lifecycle.ts`. */
export function topLevel(file: string): string {
  const i = file.indexOf('/');
  return i < 0 ? file : file.slice(0, i);
}

function matches(member: string, file: string): boolean {
  return member.endsWith('/') ? file.startsWith(member) : file === member;
}

/** Index into `layers` of a file (longest matching member wins), or -1 if no member matches. */
export function layerOf(layers: readonly Layer[], file: string): number {
  let best = -1;
  let bestLen = -1;
  layers.forEach((l, i) => {
    for (const m of l.members) {
      if (matches(m, file) && m.length > bestLen) {
        best = i;
        bestLen = m.length;
      }
    }
  });
  return best;
}

/** Tarjan's strongly connected components; returns components of more than one node, or self-loops. */
function cycles(nodes: readonly string[], next: (n: string) => readonly string[]): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of next(v)) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const comp: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1 || next(v).includes(v)) out.push(comp.sort());
    }
  };
  for (const n of nodes) if (!idx.has(n)) visit(n);
  return out;
}

/** One concrete cycle through `start` inside a component (breadth-first, so the shortest). */
function cycleThrough(start: string, inComp: ReadonlySet<string>, next: (n: string) => readonly string[]): string[] {
  const prev = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const v = queue.shift()!;
    for (const w of next(v)) {
      if (!inComp.has(w)) continue;
      if (w === start) {
        const path = [v];
        while (path[0] !== start) path.unshift(prev.get(path[0]!)!);
        return path;
      }
      if (!prev.has(w)) {
        prev.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start];
}

const at = (e: Edge): string => `src/${e.from}:${e.line} imports '${e.specifier}' (src/${e.to})`;
const key = (from: string, to: string): string => `${from} -> ${to}`;

/** node -> next node -> the imports that make that step. */
type Adjacency = Map<string, Map<string, Edge[]>>;

function adjacency(edges: readonly Edge[], node: (f: string) => string, selfLoops: boolean): Adjacency {
  const adj: Adjacency = new Map();
  for (const e of edges) {
    const a = node(e.from);
    const b = node(e.to);
    if (a === b && !selfLoops) continue;
    if (!adj.has(a)) adj.set(a, new Map());
    const out = adj.get(a)!;
    if (!out.has(b)) out.set(b, []);
    out.get(b)!.push(e);
  }
  return adj;
}

/**
 * Every violation of the layering in `graph`, one message each (empty when clean):
 * unplaced files, table members matching nothing, unresolved imports, upward imports, file
 * import cycles, cycles between top-level folders, and known violations that no longer hold.
 * Edges in `known` are left out of all checks while they are still violations.
 */
export function checkLayers(graph: Graph, layers: readonly Layer[], known: readonly KnownViolation[]): string[] {
  const problems: string[] = [];
  const layerName = (i: number): string => `${i} "${layers[i]!.name}"`;

  for (const f of graph.files) {
    if (layerOf(layers, f) < 0) {
      problems.push(
        `src/${f}: not in any layer; add it (or its top-level folder) to LAYERS in test/architecture/layers.ts`,
      );
    }
  }
  for (const l of layers) {
    for (const m of l.members) {
      if (!graph.files.some((f) => matches(m, f))) {
        problems.push(`layer "${l.name}" lists ${m}, which matches no file under src/; remove it from LAYERS`);
      }
    }
  }
  for (const e of graph.unresolved) {
    problems.push(`src/${e.from}:${e.line} imports '${e.specifier}', which resolves to no file`);
  }

  const upward = (e: Edge): boolean => {
    const a = layerOf(layers, e.from);
    const b = layerOf(layers, e.to);
    return a >= 0 && b >= 0 && b > a;
  };

  // Known violations: each must still exist and still be a violation, or the list must shrink.
  const fileNext = (adj: Adjacency) => (n: string) => [...(adj.get(n)?.keys() ?? [])];
  const allFile = adjacency(graph.edges, (f) => f, true);
  const allFolder = adjacency(graph.edges, topLevel, false);
  const sameComp = (comps: string[][], a: string, b: string): boolean =>
    comps.some((c) => c.includes(a) && c.includes(b));
  const fileComps = cycles(graph.files, fileNext(allFile));
  const folderComps = cycles([...new Set(graph.files.map(topLevel))], fileNext(allFolder));
  const knownKeys = new Set<string>();
  for (const k of known) {
    knownKeys.add(key(k.from, k.to));
    const e = graph.edges.find((x) => x.from === k.from && x.to === k.to);
    if (!e) {
      problems.push(
        `KNOWN_VIOLATIONS lists src/${k.from} -> src/${k.to} (${k.owner}), but there is no such import any more; delete the entry`,
      );
      continue;
    }
    const still =
      upward(e) ||
      sameComp(fileComps, e.from, e.to) ||
      (topLevel(e.from) !== topLevel(e.to) && sameComp(folderComps, topLevel(e.from), topLevel(e.to)));
    if (!still) {
      problems.push(
        `KNOWN_VIOLATIONS lists ${at(e)} (${k.owner}), but it is no longer upward or in a cycle; delete the entry`,
      );
    }
  }
  const edges = graph.edges.filter((e) => !knownKeys.has(key(e.from, e.to)));

  for (const e of edges) {
    if (upward(e)) {
      const a = layerOf(layers, e.from);
      const b = layerOf(layers, e.to);
      problems.push(
        `${at(e)}: upward import, from layer ${layerName(a)} to layer ${layerName(b)}; layers may only import from their own layer or below`,
      );
    }
  }

  const fileAdj = adjacency(edges, (f) => f, true);
  for (const comp of cycles(graph.files, fileNext(fileAdj))) {
    const path = cycleThrough(comp[0]!, new Set(comp), fileNext(fileAdj));
    const steps = path.map((f, i) => at(fileAdj.get(f)!.get(path[(i + 1) % path.length]!)![0]!));
    problems.push(
      `file import cycle (${comp.map((f) => `src/${f}`).join(', ')}): ${steps.join(' -> ')}; move what both sides need below both`,
    );
  }

  const folderAdj = adjacency(edges, topLevel, false);
  for (const comp of cycles([...new Set(graph.files.map(topLevel))], fileNext(folderAdj))) {
    const path = cycleThrough(comp[0]!, new Set(comp), fileNext(folderAdj));
    const steps = path.map((d, i) => {
      const n = path[(i + 1) % path.length]!;
      const by = folderAdj.get(d)!.get(n)!;
      const more = by.length > 3 ? ` and ${by.length - 3} more` : '';
      return `${d} -> ${n} by ${by.slice(0, 3).map(at).join(', ')}${more}`;
    });
    problems.push(
      `folder import cycle between top-level parts of src/ (${comp.join(', ')}): ${steps.join('; ')}; one direction has to go`,
    );
  }
  return problems;
}

/** src/ of this repository. */
export const SRC_DIR = join(__dirname, '../../src');
