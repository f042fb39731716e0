/**
 * @module cli/commands/host-file
 * `kickstand host import FILE` and `kickstand host export` — bulk registration from CSV or YAML
 * (hosts/host-file.ts). The file is read and parsed here, so errors name its lines; the daemon
 * validates every row and applies all of them or none (POST /api/v1/hosts/import).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { ErrorCode, KickstandError, isKickstandError, type ErrorDetail } from '../../errors';
import type { Host } from '../../model/host';
import { formatHostFile, hostFileFormat, parseHostFile, type HostFileFormat } from '../../hosts/host-file';
import type { FieldChange, ImportResult } from '../../hosts/import';
import { clientFor, type GlobalOpts } from '../context';
import { json } from '../output';

interface FileFlags {
  format?: string;
  dryRun?: boolean;
  output?: string;
  json?: boolean;
}

export function registerHostFile(host: Command): void {
  host
    .command('import <file>')
    .description(
      'register or update many hosts from a CSV or YAML file (all rows or none; hosts not in the file are kept)',
    )
    .option('--format <fmt>', 'csv or yaml (default: from the file name; needed for - = stdin)')
    .option('--dry-run', 'print what would change, write nothing')
    .option('--json', 'print the result as JSON')
    .action(async (file: string, f: FileFlags, cmd: Command) => {
      const format = hostFileFormat(file, f.format);
      const source = file === '-' ? 'stdin' : file;
      try {
        const text = readText(file);
        const hosts = parseHostFile(text, format);
        const r = await clientFor(cmd).request<ImportResult>('POST', '/hosts/import', {
          hosts,
          dryRun: f.dryRun === true,
        });
        process.stdout.write((f.json ?? cmd.optsWithGlobals<GlobalOpts>().json) ? json(r) : describeResult(r, source));
      } catch (e) {
        if (!isKickstandError(e) || e.code !== ErrorCode.IMPORT_INVALID) throw e;
        process.stderr.write(describeRowErrors(e, source, format));
        process.exitCode = 2; // bad input (cli/main.ts EXIT.USAGE)
      }
    });

  host
    .command('export')
    .description('write every host as CSV or YAML (the format host import reads)')
    .option('--format <fmt>', 'csv or yaml', 'csv')
    .option('-o, --output <file>', 'write to a file instead of standard output')
    .action(async (f: FileFlags, cmd: Command) => {
      const format = hostFileFormat(`hosts.${f.format}`, f.format);
      const { hosts } = await clientFor(cmd).request<{ hosts: Host[] }>('GET', '/hosts');
      const text = formatHostFile(hosts, format);
      if (f.output === undefined) process.stdout.write(text);
      else writeFileSync(f.output, text);
    });
}

function readText(file: string): string {
  try {
    return readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (e) {
    throw new KickstandError(
      ErrorCode.INVALID_INPUT,
      `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      { field: 'file', fix: 'check the path' },
    );
  }
}

function describeResult(r: ImportResult, source: string): string {
  const verb = {
    create: r.dryRun ? 'would create' : 'created',
    update: r.dryRun ? 'would update' : 'updated',
    unchanged: 'unchanged',
  };
  const width = Math.max(...Object.values(verb).map((v) => v.length));
  const lines = r.changes.map(
    (c) => `${verb[c.action].padEnd(width)}  ${c.name}${c.fields ? '  ' + c.fields.map(describeField).join('; ') : ''}`,
  );
  const summary = `${r.created} ${verb.create}, ${r.updated} ${verb.update}, ${r.unchanged} unchanged`;
  lines.push(r.dryRun ? `dry run of ${source}: ${summary}; nothing was written` : `imported ${source}: ${summary}`);
  return lines.join('\n') + '\n';
}

function describeField(c: FieldChange): string {
  const show = (v: unknown): string => {
    if (v === null) return 'none';
    if (Array.isArray(v)) return v.join(',');
    if (typeof v === 'object')
      return (
        Object.entries(v as Record<string, string>)
          .map(([k, x]) => `${k}=${x}`)
          .join(' ') || '{}'
      );
    return typeof v === 'string' ? v : JSON.stringify(v);
  };
  return `${c.field}: ${show(c.from)} → ${show(c.to)}`;
}

/** One line per bad row: where (file:line), which host and field (as the file names it), what and the fix. */
function describeRowErrors(e: KickstandError, source: string, format: HostFileFormat): string {
  const field = (d: ErrorDetail): string => {
    if (d.field === undefined) return '';
    if (format === 'csv') return ` [${d.field.replace(/^vars\./, 'var.').replace(/^macs\[\d+\]$/, 'macs')}]`;
    return ` [${d.field}]`;
  };
  const lines = [`error: ${e.message} (${e.code})`];
  for (const d of e.details ?? []) {
    const at = d.line !== undefined ? `${source}:${d.line}` : `${source} row ${d.row + 1}`;
    lines.push(
      `  ${at}${d.name ? ` ${d.name}` : ''}${field(d)}: ${d.message}${d.code !== ErrorCode.IMPORT_INVALID ? ` (${d.code})` : ''}`,
    );
    if (d.fix) lines.push(`    fix: ${d.fix}`);
  }
  if (e.fix) lines.push(`  fix: ${e.fix}`);
  return lines.join('\n') + '\n';
}
