/**
 * @module cli/commands/db
 * `kickstand db copy --from <sqlite file> --to <postgres url>` (store/copy.ts): moves a SQLite
 * store into PostgreSQL for several daemons (docs/scale-out.md), verified by counts and
 * SHA-256 per table. No daemon needed; stop the one using the SQLite file first.
 */
import type { Command } from 'commander';
import { ErrorCode, KickstandError } from '../../errors';
import { copySqliteToPostgres } from '../../store/copy';
import { readPasswordFile } from '../../store/password-file';
import { json } from '../output';

export function registerDb(program: Command): void {
  const db = program
    .command('db')
    .description('copy a SQLite store into PostgreSQL (several daemons), verified by counts and checksums');
  db.command('copy')
    .description('copy a SQLite store into an empty PostgreSQL database, verified by counts and checksums')
    .requiredOption('--from <file>', 'the SQLite store (stateDir/kickstand.db)')
    .requiredOption('--to <url>', 'postgres://user@host:port/db, without the password')
    .option('--password-file <file>', 'file holding the PostgreSQL password (first line); else PGPASSWORD')
    .option('--force', 'replace the contents of a target that is not empty')
    .option('--json', 'print the per-table report as JSON')
    .action(async (f: { from: string; to: string; passwordFile?: string; force?: boolean; json?: boolean }) => {
      const u = new URL(f.to);
      if (u.password !== '')
        throw new KickstandError(ErrorCode.INVALID_INPUT, '--to holds a password', {
          field: '--to',
          fix: 'remove it from the URL; use --password-file or PGPASSWORD',
        });
      const report = await copySqliteToPostgres(
        f.from,
        {
          connectionString: f.to,
          ...(f.passwordFile !== undefined ? { password: readPasswordFile(f.passwordFile) } : {}),
        },
        { force: f.force === true },
      );
      if (f.json) process.stdout.write(json({ tables: report }));
      else
        process.stdout.write(
          report.map((r) => `${r.table.padEnd(18)} ${String(r.rows).padStart(8)} rows  sha256 ${r.sha256}`).join('\n') +
            `\ncopied ${report.reduce((n, r) => n + r.rows, 0)} rows into ${u.host}${u.pathname}; every table verified\n`,
        );
    });
}
