/**
 * @module bench/storm/script
 * What the storm client (bench/storm-client.ts) makes of an iPXE script: the one next thing to
 * fetch. Pure: script text and the machine's facts in, a plan out.
 *
 * The client does not emulate iPXE. It reads the script top to bottom and acts on the first
 * command that fetches or ends the script, which is how the scripts Kickstand serves
 * (src/boot/ipxe.ts, docs/install-flow.md) run on a machine that already has an address:
 *  - `/boot.ipxe`: `isset ${netX/ip} || goto dhcp` holds, so the first fetch is
 *    `chain … /ipxe/${netX/mac:hexhyp}` → {@link ScriptPlan} `chain`;
 *  - an armed host's `/ipxe/<mac>`: `kernel URL args…`, `initrd URL`, `boot` → `boot`;
 *  - a host that is not armed (or an unknown MAC): `sanboot`/`exit` first → `local`, which the
 *    client reports as a failure with the script's `echo` text as the reason.
 * Branches (`goto`, `iseq`, `isset`) are not followed; the part of a line after `||` or `&&`
 * is dropped, as it only runs when the command before it fails (or, for `&&`, succeeds, which
 * none of Kickstand's scripts rely on for a fetch). Variables are expanded from `vars`
 * (`${netX/mac:hexhyp}` and the like, iPXE's settings syntax); an unknown one expands to ''.
 */

export type ScriptPlan =
  | { kind: 'chain'; url: string }
  | { kind: 'boot'; kernel: string; args: string[]; initrds: string[] }
  | { kind: 'local'; reason: string }
  | { kind: 'invalid'; reason: string };

/** iPXE options of the image commands that take a value (`--name vmlinuz`, `-n x`, `--timeout 5`). */
const OPTS_WITH_VALUE = new Set(['--name', '-n', '--timeout', '-t']);

/** `${name}`, `${net0/mac}`, `${netX/mac:hexhyp}` from `vars` (keys as written, without `:type`). */
export function expandSettings(text: string, vars: Readonly<Record<string, string>>): string {
  return text.replace(/\$\{([^}]*)\}/g, (_all, inner: string) => {
    const [name = '', type] = inner.split(':');
    const plain = name.replace(/^net(?:0|X)\//, '');
    const value = vars[name] ?? vars[plain] ?? '';
    if (type === 'hexhyp') return value.replace(/:/g, '-');
    if (type === 'hexraw') return value.replace(/:/g, '');
    return value;
  });
}

/** A command's words without its options: `kernel --name vmlinuz URL a=b` → ['URL', 'a=b']. */
function operands(words: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < words.length; i += 1) {
    const w = words[i]!;
    if (out.length === 0 && w.startsWith('-')) {
      if (OPTS_WITH_VALUE.has(w)) i += 1; // `--name=x` carries its value itself
      continue;
    }
    out.push(w);
  }
  return out;
}

/** Resolve `ref` against the URL the script came from (iPXE resolves relative URIs the same way). */
function resolveUrl(ref: string, base: string): string | undefined {
  try {
    return new URL(ref, base).toString();
  } catch {
    return undefined;
  }
}

/** The next fetch of the script at `url`, for a machine with settings `vars`. */
export function planScript(text: string, url: string, vars: Readonly<Record<string, string>>): ScriptPlan {
  const lines = text.split(/\r?\n/);
  if (!(lines[0] ?? '').startsWith('#!ipxe')) return { kind: 'invalid', reason: `${url} has no #!ipxe first line` };
  let kernel: string | undefined;
  let args: string[] = [];
  const initrds: string[] = [];
  let said = '';
  for (const raw of lines.slice(1)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(':')) continue;
    const words = expandSettings(line, vars).split(/\s+/);
    const stop = words.findIndex((w) => w === '||' || w === '&&');
    const [cmd = '', ...rest] = stop === -1 ? words : words.slice(0, stop);
    const ops = operands(rest);
    switch (cmd) {
      case 'echo':
        said = ops.join(' ');
        break;
      case 'chain':
      case 'imgexec': {
        const target = ops[0] === undefined ? undefined : resolveUrl(ops[0], url);
        if (target === undefined) return { kind: 'invalid', reason: `${cmd} without a usable URL in ${url}` };
        return { kind: 'chain', url: target };
      }
      case 'kernel':
      case 'imgselect': {
        kernel = ops[0] === undefined ? undefined : resolveUrl(ops[0], url);
        if (kernel === undefined) return { kind: 'invalid', reason: `${cmd} without a usable URL in ${url}` };
        args = ops.slice(1);
        break;
      }
      case 'initrd':
      case 'module':
      case 'imgfetch': {
        const u = ops[0] === undefined ? undefined : resolveUrl(ops[0], url);
        if (u === undefined) return { kind: 'invalid', reason: `${cmd} without a usable URL in ${url}` };
        initrds.push(u);
        break;
      }
      case 'boot':
        if (kernel === undefined) return { kind: 'invalid', reason: `boot before any kernel in ${url}` };
        return { kind: 'boot', kernel, args, initrds };
      case 'sanboot':
      case 'exit':
        return { kind: 'local', reason: said === '' ? `${url} boots the local disk` : said };
      default:
        break; // set, isset, iseq, goto, inc, sleep, imgfree, dhcp, …: not needed for the next fetch
    }
  }
  if (kernel !== undefined) return { kind: 'boot', kernel, args, initrds };
  return { kind: 'invalid', reason: `${url} ends without chain, boot or exit` };
}

/** The kickstart URL on a kernel command line (`inst.ks=`, anaconda; `ks=`, its older name). */
export function kickstartArg(args: readonly string[]): string | undefined {
  for (const a of args) {
    if (a.startsWith('inst.ks=')) return a.slice('inst.ks='.length);
    if (a.startsWith('ks=')) return a.slice('ks='.length);
  }
  return undefined;
}
