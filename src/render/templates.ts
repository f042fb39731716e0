/**
 * @module render/templates
 * The one handlebars wrapper (deps.md §4). Every template is compiled once per file version
 * with fixed options — `noEscape` (HTML escaping corrupts crypt hashes and shell), `strict`,
 * `knownHelpersOnly` with our helpers only — in a private handlebars environment. Prototype
 * access stays at handlebars' safe default (never `allowProto*`). Contexts are plain objects of
 * strings and string arrays. Because `strict` does not check helper arguments or `{{#if}}`
 * conditions, every template is scanned (render/template-scan.ts) and each variable it reads is
 * checked before rendering: a missing one is a KS_TEMPLATE_MISSING_VAR naming file, line and
 * variable — never a half-rendered kickstart.
 *
 * Layout: `<dir>/*.ks.hbs` are templates, `<dir>/snippets/*.hbs` are partials named by their
 * base name (`{{> callback-installed}}`). The folder is re-scanned once a second by a timer (an
 * async readdir and stats, never on the request path: bench/RESULTS.md, boot storm profile) and
 * recompiled when a file changed, so an edit applies without a restart; a broken edit fails
 * closed (every render refuses with its error until the files compile again).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import Handlebars from 'handlebars';
import { ErrorCode, KickstandError } from '../errors';
import type { Logger } from '../log';
import { shellQuote } from './shlex';
import { TemplateScanner, type VarRef } from './template-scan';

/** What a template may be given: flat strings, or lists of strings for {{#each}}. */
export type TemplateContext = Record<string, string | readonly string[]>;

/** Our helpers, the only ones templates may call. */
const HELPERS: Record<string, (...args: unknown[]) => string> = {
  /** One POSIX shell word (also one pykickstart word): `{{shq value}}` → `'value'`. */
  shq: (v: unknown) => {
    if (typeof v !== 'string') throw new Error('shq takes one string');
    return shellQuote(v);
  },
};
const HELPER_NAMES: ReadonlySet<string> = new Set(Object.keys(HELPERS));
export const MAX_OUTPUT = 1024 * 1024;

const COMPILE_OPTIONS = {
  noEscape: true,
  strict: true,
  knownHelpersOnly: true,
  // Built-ins we do not allow are made unknown, so knownHelpersOnly refuses them too.
  knownHelpers: { shq: true, lookup: false, log: false, with: false, helperMissing: false, blockHelperMissing: false },
} as const;

// handlebars writes prototype-access warnings through its global logger (console by default);
// route them to pino (deps.md §4). One sink for the process: the last TemplateSet's logger.
let sink: Logger | null = null;
(Handlebars.logger as { log: (level: unknown, ...msg: unknown[]) => void }).log = (level, ...msg) => {
  sink?.warn({ component: 'templates', hbLevel: String(level) }, String(msg.join(' ')).split('\n')[0]);
};

interface Compiled {
  file: string;
  fn: Handlebars.TemplateDelegate;
  refs: VarRef[];
  optional: Set<string>;
}

interface Loaded {
  stamp: string;
  /** The compiled set, or why the files on disk do not compile (every render refuses: fail closed). */
  templates: Map<string, Compiled> | KickstandError;
}

export class TemplateSet {
  private loaded: Loaded | null = null;
  private gen = 0;
  private timer: NodeJS.Timeout | undefined;
  private checking: Promise<void> | null = null;

  /**
   * `recheckMs`: how often the folder is re-scanned for edits, off the request path (an async
   * readdir and stats on libuv's thread pool; a changed file recompiles in that timer, not in a
   * render).
   */
  constructor(
    private readonly dir: () => string,
    log: Logger,
    private readonly recheckMs = 1000,
  ) {
    sink = log.child({ component: 'templates' });
  }

  /** Bumped each time the templates are (re)compiled: keys caches derived from renders. */
  generation(): number {
    this.current();
    return this.gen;
  }

  /**
   * Re-scans the folder now and recompiles if a file changed (what the timer does every
   * `recheckMs`). Resolves when the set on disk is the one in use.
   */
  refresh(): Promise<void> {
    this.checking ??= this.check().finally(() => {
      this.checking = null;
    });
    return this.checking;
  }

  /** Stops the re-scan timer (the daemon's stop). A later render starts it again. */
  close(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Template file names available (`rocky9.ks.hbs`, …). */
  names(): string[] {
    return [...this.current().keys()];
  }

  /** Which variables `name` reads and which of them are optional (docs, `host render`). */
  variables(name: string): { required: string[]; optional: string[] } {
    const t = this.get(name);
    const all = [...new Set(t.refs.map((r) => r.name))];
    return { required: all.filter((n) => !t.optional.has(n)), optional: [...t.optional] };
  }

  /**
   * Renders template `name` with `ctx`. Refuses (KS_TEMPLATE_MISSING_VAR) when a variable the
   * template reads is unset and not declared optional; optional ones render as ''.
   */
  render(name: string, ctx: TemplateContext): string {
    const t = this.get(name);
    const data: Record<string, string | readonly string[]> = { ...ctx };
    for (const r of t.refs) {
      if (Object.prototype.hasOwnProperty.call(data, r.name) && data[r.name] !== undefined && data[r.name] !== null)
        continue;
      if (t.optional.has(r.name)) {
        data[r.name] = '';
        continue;
      }
      throw new KickstandError(ErrorCode.TEMPLATE_MISSING_VAR, `${r.file}:${r.line}: variable "${r.name}" is not set`, {
        field: `vars.${r.name}`,
        fix: `set it for the host (kickstand host set HOST --var ${r.name}=…), in its profile's vars, or in the global vars; or declare it optional in the template`,
      });
    }
    let out: string;
    try {
      out = t.fn(data);
    } catch (e) {
      throw new KickstandError(ErrorCode.TEMPLATE_MISSING_VAR, `${t.file}: ${(e as Error).message.split('\n')[0]}`, {
        fix: 'check the variable names used in the template and its snippets',
        cause: e,
      });
    }
    if (out.length > MAX_OUTPUT) {
      throw new KickstandError(
        ErrorCode.TEMPLATE_INVALID,
        `${t.file}: rendered output is larger than ${MAX_OUTPUT} bytes`,
        { fix: 'shorten the template or its variables' },
      );
    }
    return out;
  }

  private get(name: string): Compiled {
    const t = this.current().get(name);
    if (!t) {
      throw new KickstandError(ErrorCode.TEMPLATE_INVALID, `no kickstart template ${name} in ${this.dir()}`, {
        field: 'profiles.*.kickstart',
        fix: `create ${join(this.dir(), name)} (see kickstarts/rocky9.ks.hbs) or point the profile at an existing template`,
      });
    }
    return t;
  }

  /** The compiled set in use: loaded at the first use, then replaced only by the re-scan. */
  private current(): Map<string, Compiled> {
    if (this.loaded === null) {
      let files: FileInfo[];
      try {
        files = listFiles(this.dir());
      } catch (e) {
        this.startTimer(); // a folder that appears later is picked up
        throw e;
      }
      this.load(stampOf(files), files);
      this.startTimer();
    }
    const t = this.loaded!.templates;
    if (t instanceof KickstandError) throw t;
    return t;
  }

  private load(stamp: string, files: FileInfo[]): void {
    let templates: Loaded['templates'];
    try {
      templates = compileAll(this.dir(), files);
    } catch (e) {
      templates = e instanceof KickstandError ? e : wrapLoadError(e);
    }
    this.loaded = { stamp, templates };
    this.gen++;
  }

  private async check(): Promise<void> {
    let files: FileInfo[];
    try {
      files = await listFilesAsync(this.dir());
    } catch (e) {
      const err = e instanceof KickstandError ? e : wrapLoadError(e);
      if (this.loaded !== null) this.loaded = { stamp: `error:${err.message}`, templates: err };
      return;
    }
    const stamp = stampOf(files);
    if (this.loaded?.stamp !== stamp) this.load(stamp, files);
  }

  private startTimer(): void {
    if (this.timer !== undefined || this.recheckMs <= 0) return;
    this.timer = setInterval(() => void this.refresh(), this.recheckMs);
    this.timer.unref();
  }
}

function wrapLoadError(e: unknown): KickstandError {
  return new KickstandError(ErrorCode.TEMPLATE_INVALID, `kickstart templates: ${(e as Error).message}`, { cause: e });
}

const stampOf = (files: FileInfo[]): string => files.map((f) => `${f.path}:${f.mtimeMs}:${f.size}`).join('|');

interface FileInfo {
  path: string;
  kind: 'template' | 'snippet';
  mtimeMs: number;
  size: number;
}

function unreadable(d: string, e: unknown): KickstandError {
  return new KickstandError(
    ErrorCode.TEMPLATE_INVALID,
    `cannot read the kickstart directory ${d}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`,
    { field: 'kickstartsDir', fix: 'set kickstartsDir to the folder holding *.ks.hbs' },
  );
}

const missingSnippets = (kind: FileInfo['kind'], e: unknown): boolean =>
  kind === 'snippet' && (e as NodeJS.ErrnoException).code === 'ENOENT';

const FOLDERS = (dir: string): Array<[string, FileInfo['kind'], string]> => [
  [dir, 'template', '.ks.hbs'],
  [join(dir, 'snippets'), 'snippet', '.hbs'],
];

/** The template and snippet files, synchronously (the first load). */
function listFiles(dir: string): FileInfo[] {
  const out: FileInfo[] = [];
  for (const [d, kind, suffix] of FOLDERS(dir)) {
    let names: string[];
    try {
      names = readdirSync(d)
        .filter((n) => n.endsWith(suffix))
        .sort();
    } catch (e) {
      if (missingSnippets(kind, e)) continue;
      throw unreadable(d, e);
    }
    for (const n of names) {
      const st = statSync(join(d, n));
      if (st.isFile()) out.push({ path: join(d, n), kind, mtimeMs: st.mtimeMs, size: st.size });
    }
  }
  return out;
}

/** The same list on libuv's thread pool (the re-scan: never on the request path). */
async function listFilesAsync(dir: string): Promise<FileInfo[]> {
  const out: FileInfo[] = [];
  for (const [d, kind, suffix] of FOLDERS(dir)) {
    let names: string[];
    try {
      names = (await readdir(d)).filter((n) => n.endsWith(suffix)).sort();
    } catch (e) {
      if (missingSnippets(kind, e)) continue;
      throw unreadable(d, e);
    }
    const stats = await Promise.all(names.map((n) => stat(join(d, n)).catch(() => null)));
    names.forEach((n, i) => {
      const st = stats[i];
      if (st?.isFile()) out.push({ path: join(d, n), kind, mtimeMs: st.mtimeMs, size: st.size });
    });
  }
  return out;
}

function parse(file: string, text: string): unknown {
  try {
    return Handlebars.parse(text);
  } catch (e) {
    throw new KickstandError(ErrorCode.TEMPLATE_INVALID, `${file}: ${(e as Error).message.split('\n')[0]}`, {
      field: file,
      fix: 'fix the handlebars syntax',
      cause: e,
    });
  }
}

/** Compiles every template with every snippet it (transitively) includes. */
function compileAll(dir: string, files: FileInfo[]): Map<string, Compiled> {
  const hb = Handlebars.create();
  for (const k of ['lookup', 'log', 'with']) hb.unregisterHelper(k);
  for (const [k, f] of Object.entries(HELPERS)) hb.registerHelper(k, f);
  const snippets = new Map<string, { file: string; scan: ReturnType<TemplateScanner['scan']> }>();
  for (const f of files.filter((x) => x.kind === 'snippet')) {
    const text = readFileSync(f.path, 'utf8');
    const name = basename(f.path, '.hbs');
    const scan = new TemplateScanner(`snippets/${name}.hbs`, HELPER_NAMES).scan(parse(f.path, text) as never);
    snippets.set(name, { file: f.path, scan });
    hb.registerPartial(name, hb.compile(text, COMPILE_OPTIONS));
  }
  const out = new Map<string, Compiled>();
  for (const f of files.filter((x) => x.kind === 'template')) {
    const text = readFileSync(f.path, 'utf8');
    const name = basename(f.path);
    const scan = new TemplateScanner(name, HELPER_NAMES).scan(parse(f.path, text) as never);
    const refs = [...scan.refs];
    const optional = new Set(scan.optional);
    const seen = new Set<string>();
    const queue = [...scan.partials];
    while (queue.length > 0) {
      const p = queue.shift()!;
      if (seen.has(p)) continue;
      seen.add(p);
      const s = snippets.get(p);
      if (!s)
        throw new KickstandError(
          ErrorCode.TEMPLATE_INVALID,
          `${name}: snippet "${p}" not found in ${join(dir, 'snippets')}`,
          { field: name, fix: `create snippets/${p}.hbs or fix the {{> ${p}}} name` },
        );
      refs.push(...s.scan.refs);
      for (const o of s.scan.optional) optional.add(o);
      queue.push(...s.scan.partials);
    }
    const fn = hb.compile(text, COMPILE_OPTIONS);
    out.set(name, { file: name, fn, refs, optional });
  }
  return out;
}
