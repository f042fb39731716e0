/**
 * @module config/load
 * Reads the YAML file, applies `KICKSTAND_*` environment overrides and command-line
 * overrides, validates once with zod and freezes the result. A bad file is refused whole with
 * every problem listed as `FILE: KEY: what is wrong (e.g. KEY: right-value)`; the daemon never
 * half-starts on a config it did not understand.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { ErrorCode, KickstandError } from '../errors';
import { envOverrides, setPath } from './env';
import { configSchema, exampleFor, type Config, type ParsedConfig } from './schema';

export const DEFAULT_CONFIG_PATH = '/etc/kickstand/kickstand.yaml';

export interface LoadOptions {
  file?: string;
  env?: NodeJS.ProcessEnv;
  /** Command-line overrides (`--state-dir`, `--listen`), applied last. */
  overrides?: { stateDir?: string; listen?: string; apiListen?: string };
}

export class ConfigError extends KickstandError {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(ErrorCode.CONFIG_INVALID, `invalid configuration in ${file}:\n  ${problems.join('\n  ')}`, {
      fix: `edit ${file}; examples/kickstand.yaml and docs/configuration.md describe every key`,
    });
    this.name = 'ConfigError';
  }
}

export function loadConfig(opts: LoadOptions = {}): Config {
  const file = resolve(opts.file ?? DEFAULT_CONFIG_PATH);
  const raw = readConfigFile(file);
  const doc = parseDocument(raw, { prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      file,
      doc.errors.map((e) => `YAML syntax: ${e.message.split('\n')[0]}`),
    );
  }
  const data = (doc.toJS() ?? {}) as unknown;
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new ConfigError(file, ['the file must be a YAML mapping of sections (stateDir, http, network, …)']);
  }
  const tree = data as Record<string, unknown>;
  const sources = new Map<string, string>();
  for (const o of envOverrides(opts.env ?? process.env)) {
    setPath(tree, o.path, o.value);
    sources.set(o.path.join('.'), o.variable);
  }
  if (opts.overrides?.stateDir !== undefined) setPath(tree, ['stateDir'], opts.overrides.stateDir);
  if (opts.overrides?.listen !== undefined) setPath(tree, ['http', 'listen'], opts.overrides.listen);
  if (opts.overrides?.apiListen !== undefined) setPath(tree, ['api', 'listen'], opts.overrides.apiListen);
  return validate(file, tree, sources, opts.overrides?.stateDir);
}

function readConfigFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new KickstandError(
      ErrorCode.CONFIG_UNREADABLE,
      `cannot read config file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      {
        field: '--config',
        fix: `write it with kickstand init --interface IF (docs/operating.md), or pass --config FILE`,
        cause: e,
      },
    );
  }
}

function validate(
  file: string,
  tree: Record<string, unknown>,
  sources: Map<string, string>,
  cliStateDir?: string,
): Config {
  const parsed = configSchema.safeParse(tree);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => {
      const key = i.path.map(String).join('.') || '(top level)';
      const from = sources.get(key);
      const ex = exampleFor(key);
      const msg = i.code === 'unrecognized_keys' ? `unknown key(s) ${i.keys.join(', ')}` : i.message;
      return `${key}: ${msg}${from ? ` (from ${from})` : ''}${ex ? ` — e.g. ${key}: ${ex}` : ''}`;
    });
    throw new ConfigError(file, problems);
  }
  return deepFreeze(resolveConfig(parsed.data, { base: dirname(file), source: file, stateDir: cliStateDir }));
}

/**
 * The one place defaults that depend on other keys are filled in: paths against the config
 * file's folder (images, kickstarts, the API's TLS files) and `http.publicUrl` (default `http://<network.address>:<http.listen port>`, no
 * trailing slash). Tests that build a config from the schema use it too.
 */
export function resolveConfig(
  c: ParsedConfig,
  opts: { base?: string; source?: string | null; stateDir?: string } = {},
): Config {
  const base = opts.base ?? process.cwd();
  const [, port] = splitHostPort(c.http.listen);
  return {
    ...c,
    // --state-dir is relative to where the command runs; file values to the file's folder.
    stateDir: opts.stateDir !== undefined ? resolve(opts.stateDir) : resolve(base, c.stateDir),
    imagesDir: resolve(base, c.imagesDir),
    kickstartsDir: resolve(base, c.kickstartsDir),
    store: { ...c.store, passwordFile: c.store.passwordFile === null ? null : resolve(base, c.store.passwordFile) },
    secrets: { keyFile: c.secrets.keyFile === null ? null : resolve(base, c.secrets.keyFile) },
    api: {
      ...c.api,
      tls: {
        cert: c.api.tls.cert === null ? null : resolve(base, c.api.tls.cert),
        key: c.api.tls.key === null ? null : resolve(base, c.api.tls.key),
      },
    },
    http: { ...c.http, publicUrl: (c.http.publicUrl ?? `http://${c.network.address}:${port}`).replace(/\/+$/, '') },
    source: opts.source ?? null,
  };
}

export function splitHostPort(listen: string): [string, number] {
  const i = listen.lastIndexOf(':');
  return [listen.slice(0, i).replace(/^\[|\]$/g, ''), Number(listen.slice(i + 1))];
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o as Record<string, unknown>)) deepFreeze(v);
  }
  return o;
}
