/**
 * @module hosts/csv
 * RFC 4180 CSV, the part host files need: records end in CRLF or LF (§2 rule 1 says CRLF;
 * LF-only files are what editors write), fields are separated by commas, a field in double
 * quotes may hold commas, line breaks and `""` for one quote (§2 rules 5-7). Unquoted fields
 * are trimmed (an operator's `name, macs` header), quoted ones kept as written; blank lines
 * are skipped. The writer quotes only the fields that need it and ends records in CRLF.
 */

export interface CsvRecord {
  /** 1-based line the record starts on. */
  line: number;
  cells: string[];
}

export class CsvSyntaxError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(message);
    this.name = 'CsvSyntaxError';
  }
}

export function parseCsv(text: string): CsvRecord[] {
  const src = text.startsWith('\ufeff') ? text.slice(1) : text; // a BOM from spreadsheet exports
  const out: CsvRecord[] = [];
  let line = 1;
  let i = 0;
  while (i < src.length) {
    const start = line;
    const cells: string[] = [];
    let blank = true;
    for (;;) {
      let cell = '';
      // leading blanks before an opening quote are allowed (and dropped)
      let j = i;
      while (src[j] === ' ' || src[j] === '\t') j++;
      if (src[j] === '"') {
        i = j + 1;
        for (;;) {
          if (i >= src.length) throw new CsvSyntaxError(start, 'a quoted field is not closed (a " is missing)');
          const c = src[i];
          if (c === '"') {
            if (src[i + 1] === '"') {
              cell += '"';
              i += 2;
              continue;
            }
            i++;
            break;
          }
          if (c === '\n') line++;
          cell += c;
          i++;
        }
        while (src[i] === ' ' || src[i] === '\t') i++;
        if (i < src.length && src[i] !== ',' && src[i] !== '\n' && src[i] !== '\r') {
          throw new CsvSyntaxError(line, 'text after a closing quote; write "" for a quote inside a quoted field');
        }
        blank = false;
      } else {
        while (i < src.length && src[i] !== ',' && src[i] !== '\n' && src[i] !== '\r') {
          if (src[i] === '"')
            throw new CsvSyntaxError(
              line,
              'a quote inside an unquoted field; quote the whole field and write "" for each quote',
            );
          cell += src[i];
          i++;
        }
        cell = cell.trim();
        if (cell !== '') blank = false;
      }
      cells.push(cell);
      if (src[i] === ',') {
        blank = false;
        i++;
        continue;
      }
      if (src[i] === '\r') i++;
      if (src[i] === '\n') i++;
      line++;
      break;
    }
    if (!blank) out.push({ line: start, cells });
  }
  return out;
}

export function formatCsv(records: readonly (readonly string[])[]): string {
  return records.map((r) => r.map(quote).join(',') + '\r\n').join('');
}

function quote(cell: string): string {
  return /[",\r\n]|^\s|\s$/.test(cell) ? `"${cell.replace(/"/g, '""')}"` : cell;
}
