/**
 * @module hosts/import
 * Bulk registration (`kickstand host import`, POST /api/v1/hosts/import): a list of rows with
 * the fields of `host add` becomes creates, updates and unchanged hosts.
 *
 * - Validate everything first, apply after: every bad row is reported at once (with the
 *   source line the client sent) in one KS_IMPORT_INVALID, and nothing is written.
 * - Idempotent: a row equal to its stored host is unchanged; hosts not in the rows are left
 *   alone, never deleted. A field a row does not give keeps its stored value.
 * - New hosts are created in one store transaction ({@link HostRegistry.addMany}); updates go
 *   through {@link HostRegistry.update} (arming, disarming, tokens, timeline) after that. The
 *   checks below make sure an update cannot fail on its input: only a concurrent change by
 *   another client (a host deleted, a MAC taken meanwhile) can refuse one, leaving the creates.
 * - A MAC or address may not move between hosts in one import (applying it would depend on the
 *   order of the updates): free it in one import or `host set`, take it in the next.
 * - netboot is followed only for a new host or one not yet installing (registered, armed);
 *   for a host past that it is ignored, so importing the day-one file again never re-arms (and
 *   so reinstalls) installed machines. Re-arm those with `kickstand host reimage`.
 */
import { ErrorCode, KickstandError, type ErrorDetail } from '../errors';
import { validateHostName, type Host } from '../model/host';
import type { HostFields, HostInput, HostRegistry, ValidHost } from './registry';

/** The most rows one import takes (bounds the request and the transaction). */
export const MAX_IMPORT_ROWS = 10_000;

/** A row: the fields of `host add`, plus the line of the file it came from (for errors). */
export interface ImportRow extends HostInput {
  line?: unknown;
}

export interface FieldChange {
  field: keyof HostFields;
  from: unknown;
  to: unknown;
}

export interface ImportChange {
  row: number;
  line?: number;
  name: string;
  action: 'create' | 'update' | 'unchanged';
  /** For an update: the fields that change. */
  fields?: FieldChange[];
}

export interface ImportResult {
  dryRun: boolean;
  created: number;
  updated: number;
  unchanged: number;
  changes: ImportChange[];
}

const FIELDS = ['macs', 'profile', 'role', 'ipv4', 'vars', 'netboot'] as const;
const KNOWN = new Set<string>(['name', 'line', ...FIELDS]);

interface Plan {
  change: ImportChange;
  /** The host as it will be (for the uniqueness checks). */
  macs: string[];
  ipv4: string | null;
  create?: ValidHost;
  patch?: HostFields;
}

export async function importHosts(
  registry: HostRegistry,
  rows: unknown,
  opts: { dryRun: boolean },
): Promise<ImportResult> {
  if (!Array.isArray(rows)) {
    throw new KickstandError(ErrorCode.INVALID_INPUT, 'hosts must be a list of host objects', {
      field: 'hosts',
      fix: 'send {"hosts": [{"name": "node1", "macs": ["aa:bb:cc:dd:ee:ff"], "profile": "rocky9"}]}',
    });
  }
  if (rows.length > MAX_IMPORT_ROWS) {
    throw new KickstandError(
      ErrorCode.INVALID_INPUT,
      `${rows.length} rows: one import takes at most ${MAX_IMPORT_ROWS}`,
      { field: 'hosts', fix: 'split the file' },
    );
  }
  const stored = new Map((await registry.list()).map((h) => [h.name, h]));
  const errors: ErrorDetail[] = [];
  const plans: Plan[] = [];
  rows.forEach((raw: unknown, row) => {
    const plan = planRow(registry, stored, raw, row, errors);
    if (plan) plans.push(plan);
  });
  checkUnique(plans, stored, errors);
  if (errors.length > 0) {
    const bad = new Set(errors.map((e) => e.row)).size;
    throw new KickstandError(
      ErrorCode.IMPORT_INVALID,
      `${bad} of ${rows.length} rows are invalid; nothing was imported`,
      {
        fix: 'correct the rows listed and import again',
        details: errors.sort((a, b) => a.row - b.row),
      },
    );
  }
  const changes = plans.map((p) => p.change);
  const count = (a: ImportChange['action']): number => changes.filter((c) => c.action === a).length;
  if (!opts.dryRun) {
    await registry.addMany(plans.flatMap((p) => (p.create ? [p.create] : [])));
    await Promise.all(plans.flatMap((p) => (p.patch ? [registry.update(p.change.name, p.patch)] : [])));
  }
  return {
    dryRun: opts.dryRun,
    created: count('create'),
    updated: count('update'),
    unchanged: count('unchanged'),
    changes,
  };
}

/** Validates one row against the config and its stored host; pushes its errors, returns its plan. */
function planRow(
  registry: HostRegistry,
  stored: ReadonlyMap<string, Host>,
  raw: unknown,
  row: number,
  errors: ErrorDetail[],
): Plan | undefined {
  const input = (typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? raw : {}) as ImportRow;
  const line = Number.isSafeInteger(input.line) && (input.line as number) > 0 ? (input.line as number) : undefined;
  const at = { row, ...(line === undefined ? {} : { line }) };
  const n0 = errors.length;
  const fail = (e: unknown, name?: string): void => {
    if (!(e instanceof KickstandError)) throw e;
    errors.push({
      ...at,
      ...(name === undefined ? {} : { name }),
      code: e.code,
      ...(e.field === undefined ? {} : { field: e.field }),
      message: e.message,
      ...(e.fix === undefined ? {} : { fix: e.fix }),
    });
  };
  if (input !== raw) {
    fail(
      new KickstandError(ErrorCode.INVALID_INPUT, 'a row must be an object with the fields of host add', {
        fix: 'e.g. {"name": "node1", "macs": ["aa:bb:cc:dd:ee:ff"], "profile": "rocky9"}',
      }),
    );
    return undefined;
  }
  for (const k of Object.keys(input)) {
    if (!KNOWN.has(k))
      fail(
        new KickstandError(ErrorCode.INVALID_INPUT, `unknown field ${JSON.stringify(k)}`, {
          field: k,
          fix: `the fields are: name, ${FIELDS.join(', ')}`,
        }),
      );
  }
  let name: string | undefined;
  try {
    if (typeof input.name !== 'string')
      throw new KickstandError(ErrorCode.INVALID_INPUT, 'name is required and must be a string', {
        field: 'name',
        fix: 'e.g. name: node1',
      });
    name = validateHostName(input.name);
  } catch (e) {
    fail(e);
  }
  // Every field on its own, so a row with several bad fields has them all listed.
  const given: HostFields = {};
  for (const f of FIELDS) {
    if (input[f] === undefined) continue;
    try {
      Object.assign(given, registry.validateFields({ [f]: input[f] }));
    } catch (e) {
      fail(e, name);
    }
  }
  if (errors.length > n0 || name === undefined) return undefined;
  const cur = stored.get(name);
  if (!cur) {
    try {
      const create = registry.validateNew(input); // also reports what is required and missing
      return { change: { ...at, name, action: 'create' }, macs: create.macs, ipv4: create.ipv4, create };
    } catch (e) {
      fail(e, name);
      return undefined;
    }
  }
  // netboot: see the module comment — ignored once a host has started installing.
  if (given.netboot !== undefined && cur.state !== 'registered' && cur.state !== 'armed') delete given.netboot;
  const fields: FieldChange[] = [];
  for (const f of FIELDS) {
    if (given[f] !== undefined && !same(given[f], cur[f])) fields.push({ field: f, from: cur[f], to: given[f] });
  }
  const final = { ...cur, ...given };
  if (fields.length === 0) return { change: { ...at, name, action: 'unchanged' }, macs: final.macs, ipv4: final.ipv4 };
  const patch = Object.fromEntries(fields.map((c) => [c.field, c.to])) as HostFields;
  return { change: { ...at, name, action: 'update', fields }, macs: final.macs, ipv4: final.ipv4, patch };
}

/** Names, MACs and addresses: unique within the rows, and not held by another stored host. */
function checkUnique(plans: readonly Plan[], stored: ReadonlyMap<string, Host>, errors: ErrorDetail[]): void {
  const storedMac = new Map<string, string>();
  const storedIp = new Map<string, string>();
  for (const h of stored.values()) {
    for (const m of h.macs) storedMac.set(m, h.name);
    if (h.ipv4 !== null) storedIp.set(h.ipv4, h.name);
  }
  const seenName = new Map<string, Plan>();
  const seenMac = new Map<string, Plan>();
  const seenIp = new Map<string, Plan>();
  const where = (p: Plan): string =>
    p.change.line !== undefined ? `line ${p.change.line}` : `row ${p.change.row + 1}`;
  for (const p of plans) {
    const { row, line, name } = p.change;
    const fail = (code: ErrorCode, field: string, message: string, fix: string): void => {
      errors.push({ row, ...(line === undefined ? {} : { line }), name, code, field, message, fix });
    };
    const dupName = seenName.get(name);
    if (dupName) {
      fail(ErrorCode.HOST_EXISTS, 'name', `host ${name} is also on ${where(dupName)}`, 'give each host one row');
      continue;
    }
    seenName.set(name, p);
    p.macs.forEach((mac, i) => {
      const other = seenMac.get(mac);
      const owner = storedMac.get(mac);
      if (other)
        fail(
          ErrorCode.MAC_IN_USE,
          `macs[${i}]`,
          `MAC ${mac} is also on ${where(other)} (host ${other.change.name})`,
          'give each NIC to one host',
        );
      else if (owner !== undefined && owner !== name)
        fail(
          ErrorCode.MAC_IN_USE,
          `macs[${i}]`,
          `MAC ${mac} already belongs to host ${owner}`,
          `check the MAC; to move it, take it off ${owner} first (its row, or kickstand host set ${owner} --mac …) and import again`,
        );
      else seenMac.set(mac, p);
    });
    if (p.ipv4 !== null) {
      const other = seenIp.get(p.ipv4);
      const owner = storedIp.get(p.ipv4);
      if (other)
        fail(
          ErrorCode.IP_IN_USE,
          'ipv4',
          `${p.ipv4} is also on ${where(other)} (host ${other.change.name})`,
          'give each host its own address, or leave it empty to lease from the pool',
        );
      else if (owner !== undefined && owner !== name)
        fail(
          ErrorCode.IP_IN_USE,
          'ipv4',
          `${p.ipv4} is already reserved for host ${owner}`,
          `pick a free address; to move it, take it off ${owner} first and import again`,
        );
      else seenIp.set(p.ipv4, p);
    }
  }
}

function same(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => x === b[i]);
  if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null) {
    const ka = Object.keys(a);
    const rb = b as Record<string, unknown>;
    return (
      ka.length === Object.keys(b).length &&
      ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && (a as Record<string, unknown>)[k] === rb[k])
    );
  }
  return a === b;
}
