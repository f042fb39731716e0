/**
 * @module config/env
 * Environment overrides: `KICKSTAND_<PATH>` where `__` separates nesting levels and each
 * level is SNAKE_CASE of the camelCase key. Values are read as YAML scalars or flow
 * collections, so numbers, booleans and lists work:
 *   KICKSTAND_STATE_DIR=/srv/ks            → stateDir
 *   KICKSTAND_HTTP__LISTEN=0.0.0.0:8081    → http.listen
 *   KICKSTAND_NETWORK__DNS='[198.18.0.1]'  → network.dns
 * KICKSTAND_URL, KICKSTAND_TOKEN, KICKSTAND_CA and KICKSTAND_CONFIG belong to the CLI, KICKSTAND_NATIVE and
 * KICKSTAND_NATIVE_REQUIRED to the native addon's loader and build (src/native): not config keys.
 */
import { parse as parseYaml } from 'yaml';

const CLIENT_ONLY = new Set([
  'KICKSTAND_URL',
  'KICKSTAND_TOKEN',
  'KICKSTAND_CA',
  'KICKSTAND_CONFIG',
  'KICKSTAND_NATIVE',
  'KICKSTAND_NATIVE_REQUIRED',
]);

const camel = (s: string): string => s.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

export interface EnvOverride {
  variable: string;
  path: string[];
  value: unknown;
}

export function envOverrides(env: NodeJS.ProcessEnv): EnvOverride[] {
  const out: EnvOverride[] = [];
  for (const [k, raw] of Object.entries(env)) {
    if (!k.startsWith('KICKSTAND_') || CLIENT_ONLY.has(k) || raw === undefined) continue;
    const path = k.slice('KICKSTAND_'.length).split('__').map(camel);
    let value: unknown;
    try {
      value = parseYaml(raw);
    } catch {
      value = raw;
    }
    out.push({ variable: k, path, value: value === null && raw !== '' ? raw : value });
  }
  return out.sort((a, b) => a.variable.localeCompare(b.variable));
}

/** Sets `path` in a plain object tree, creating intermediate objects. */
export function setPath(root: Record<string, unknown>, path: string[], value: unknown): void {
  let node = root;
  for (const seg of path.slice(0, -1)) {
    const next = node[seg];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[seg] = {};
    node = node[seg] as Record<string, unknown>;
  }
  node[path[path.length - 1]!] = value;
}
