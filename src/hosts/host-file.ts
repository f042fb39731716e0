/**
 * @module hosts/host-file
 * Host files for `kickstand host import` / `host export`, CSV or YAML, with the fields of
 * `host add`. Parsing only shapes rows (and remembers each row's line); the registry validates
 * them (hosts/import.ts). In both formats an absent field keeps a stored host's value and takes
 * the `host add` default for a new host; `none` (or YAML null) for ipv4 means "from the pool".
 *
 * CSV (hosts/csv.ts, RFC 4180): a header row, then one host per record. Columns
 * `name,macs,profile,role,ipv4,netboot` and `var.<key>`; several MACs in one cell separated by
 * `;` or spaces. An empty cell is an absent field; with var columns, a row's vars are exactly
 * its non-empty var cells (they replace the stored set, like `host set --var`).
 *
 * YAML: a list of objects `{name, macs: [..], profile, role, ipv4, netboot, vars: {..}}`.
 */
import { LineCounter, isMap, isSeq, parseDocument, stringify } from 'yaml';
import { ErrorCode, KickstandError, type ErrorDetail } from '../errors';
import type { Host } from '../model/host';
import { CsvSyntaxError, formatCsv, parseCsv } from './csv';
import type { ImportRow } from './import';

export type HostFileFormat = 'csv' | 'yaml';

const COLUMNS = ['name', 'macs', 'profile', 'role', 'ipv4', 'netboot'] as const;

/** The format named by `explicit`, else by the file's extension. */
export function hostFileFormat(path: string, explicit?: string): HostFileFormat {
  const f = (explicit ?? path.split('.').pop() ?? '').toLowerCase();
  if (f === 'csv') return 'csv';
  if (f === 'yaml' || f === 'yml') return 'yaml';
  throw new KickstandError(
    ErrorCode.INVALID_INPUT,
    explicit === undefined
      ? `cannot tell the format of ${path} from its name`
      : `unknown format ${JSON.stringify(explicit)}`,
    {
      field: 'format',
      fix: 'name the file .csv, .yaml or .yml, or pass --format csv|yaml',
    },
  );
}

/** Rows with their lines; a malformed file throws KS_IMPORT_INVALID naming every bad line. */
export function parseHostFile(text: string, format: HostFileFormat): ImportRow[] {
  return format === 'csv' ? parseCsvHosts(text) : parseYamlHosts(text);
}

export function formatHostFile(hosts: readonly Host[], format: HostFileFormat): string {
  if (format === 'yaml') {
    return hosts.length === 0
      ? '[]\n'
      : stringify(
          hosts.map((h) => ({
            name: h.name,
            macs: h.macs,
            profile: h.profile,
            role: h.role,
            ipv4: h.ipv4,
            netboot: h.netboot,
            vars: h.vars,
          })),
        );
  }
  const keys = [...new Set(hosts.flatMap((h) => Object.keys(h.vars)))].sort();
  return formatCsv([
    [...COLUMNS, ...keys.map((k) => `var.${k}`)],
    ...hosts.map((h) => [
      h.name,
      h.macs.join(';'),
      h.profile,
      h.role,
      h.ipv4 ?? '',
      String(h.netboot),
      ...keys.map((k) => h.vars[k] ?? ''),
    ]),
  ]);
}

function refuse(what: string, details: ErrorDetail[]): never {
  throw new KickstandError(ErrorCode.IMPORT_INVALID, `${what}; nothing was imported`, {
    fix: 'correct the lines listed and import again',
    details,
  });
}

const detail = (line: number, field: string | undefined, message: string, fix?: string): ErrorDetail => ({
  row: 0,
  line,
  code: ErrorCode.IMPORT_INVALID,
  ...(field === undefined ? {} : { field }),
  message,
  ...(fix === undefined ? {} : { fix }),
});

function parseCsvHosts(text: string): ImportRow[] {
  let records;
  try {
    records = parseCsv(text);
  } catch (e) {
    if (!(e instanceof CsvSyntaxError)) throw e;
    refuse('the file is not valid CSV', [detail(e.line, undefined, e.message)]);
  }
  const [header, ...body] = records;
  if (!header) return [];
  const cols = header.cells;
  const bad: ErrorDetail[] = [];
  cols.forEach((c, i) => {
    const isVar = c.startsWith('var.') && c.length > 4;
    if (!isVar && !(COLUMNS as readonly string[]).includes(c))
      bad.push(
        detail(
          header.line,
          c || `column ${i + 1}`,
          `unknown column ${JSON.stringify(c)}`,
          `the columns are ${COLUMNS.join(', ')} and var.<key>`,
        ),
      );
    else if (cols.indexOf(c) !== i) bad.push(detail(header.line, c, `column ${c} is there twice`, 'keep one'));
  });
  if (!cols.includes('name'))
    bad.push(
      detail(
        header.line,
        'name',
        'the header has no name column',
        `start the file with a header such as ${COLUMNS.join(',')}`,
      ),
    );
  if (bad.length > 0) refuse('the CSV header is not valid', bad);
  const hasVars = cols.some((c) => c.startsWith('var.'));
  const rows: ImportRow[] = [];
  body.forEach((r, n) => {
    if (r.cells.length !== cols.length) {
      bad.push({
        ...detail(
          r.line,
          undefined,
          `${r.cells.length} cells where the header has ${cols.length}`,
          'one cell per column; quote cells that hold a comma',
        ),
        row: n,
      });
      return;
    }
    const row: ImportRow & { vars?: Record<string, string> } = { line: r.line };
    if (hasVars) row.vars = {};
    cols.forEach((c, i) => {
      const v = r.cells[i];
      if (v === undefined || v === '') return; // the cell count was checked above
      if (c.startsWith('var.')) row.vars![c.slice(4)] = v;
      else if (c === 'macs') row.macs = v.split(/[;\s]+/).filter((m) => m !== '');
      else if (c === 'ipv4') row.ipv4 = v === 'none' ? null : v;
      else row[c as 'name' | 'profile' | 'role' | 'netboot'] = v;
    });
    rows.push(row);
  });
  if (bad.length > 0) refuse(`${bad.length} CSV records have the wrong number of cells`, bad);
  return rows;
}

function parseYamlHosts(text: string): ImportRow[] {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false });
  if (doc.errors.length > 0) {
    refuse(
      'the file is not valid YAML',
      doc.errors.map((e) => detail(lc.linePos(e.pos[0]).line, undefined, e.message.split('\n')[0] ?? e.message)),
    );
  }
  if (doc.contents === null) return [];
  if (!isSeq(doc.contents))
    refuse('the YAML file is not a list of hosts', [
      detail(1, undefined, 'the top level must be a list', 'write one "- name: node1" item per host'),
    ]);
  const rows: ImportRow[] = [];
  const bad: ErrorDetail[] = [];
  doc.contents.items.forEach((item, n) => {
    const line = lc.linePos((item as { range?: readonly number[] } | null)?.range?.[0] ?? 0).line;
    if (!isMap(item)) {
      bad.push({
        ...detail(
          line,
          undefined,
          `item ${n + 1} is not a host object`,
          'write name:, macs:, profile: … under each "-"',
        ),
        row: n,
      });
      return;
    }
    const v = item.toJSON() as Record<string, unknown>;
    if (v.ipv4 === 'none') v.ipv4 = null;
    rows.push({ ...v, line });
  });
  if (bad.length > 0) refuse(`${bad.length} YAML items are not host objects`, bad);
  return rows;
}
