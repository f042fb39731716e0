/**
 * @module bootstrap/shell
 * Building the commands run on nodes (reliability.md S04): node-side scripts are fixed text;
 * values go in as single-quoted arguments (after validation by the caller) or as data on
 * stdin, never interpolated unquoted. Secrets only ever travel on stdin.
 */

/** POSIX single-quoting: safe for any string without NUL. */
export function quote(s: string): string {
  if (s.includes('\0')) throw new Error('NUL in a shell argument');
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** `sh -c 'SCRIPT' NAME ARG…`: the script sees the args as $1…, never re-parsed. */
export function shCommand(script: string, name: string, args: readonly string[]): string {
  return ['sh', '-c', quote(script), quote(name), ...args.map(quote)].join(' ');
}

/** `changed=0|1` and `key=value` lines printed by node scripts. */
export function parseKv(stdout: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of stdout.split('\n')) {
    const m = /^([a-z_][a-z0-9_]*)=(.*)$/.exec(line.trim());
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}
