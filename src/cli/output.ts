/**
 * @module cli/output
 * Human output (aligned tables, key/value blocks) and machine output (--json).
 */

export interface Column<T> {
  header: string;
  value: (row: T) => string;
}

/** Left-aligned columns separated by two spaces; the header in upper case. */
export function table<T>(rows: T[], cols: Column<T>[]): string {
  const cells = [cols.map((c) => c.header.toUpperCase()), ...rows.map((r) => cols.map((c) => c.value(r)))];
  const widths = cols.map((_, i) => Math.max(...cells.map((row) => row[i]!.length)));
  return (
    cells
      .map((row) =>
        row
          .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!)))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}

export function keyValues(pairs: Array<[string, string]>): string {
  const w = Math.max(...pairs.map(([k]) => k.length));
  return pairs.map(([k, v]) => `${(k + ':').padEnd(w + 2)}${v}`).join('\n') + '\n';
}

export function json(value: unknown): string {
  return JSON.stringify(value, null, 2) + '\n';
}
