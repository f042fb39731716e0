/**
 * @module cli/commands/api-cert
 * `kickstand api cert` — a self-signed TLS pair for the API listener (auth/tls-cert.ts), and
 * the fingerprint clients pin (`--ca`, `KICKSTAND_CA`). Needs no daemon. Files default to the
 * config's api.tls.cert / api.tls.key, else <stateDir>/api.crt and api.key.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { certFingerprint, generateSelfSigned } from '../../auth/tls-cert';
import { DEFAULT_CONFIG_PATH, loadConfig, splitHostPort } from '../../config/load';
import type { Config } from '../../config/schema';
import { DEFAULT_STATE_DIR } from '../client';

const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

interface CertFlags {
  cert?: string;
  key?: string;
  name?: string[];
  days?: string;
  force?: boolean;
  show?: boolean;
}

export function registerApiCert(program: Command): void {
  const api = program.command('api').description("the operator API listener's TLS certificate");
  api
    .command('cert')
    .description('write a self-signed certificate and key for api.tls and print the fingerprint clients pin')
    .option('--cert <file>', 'certificate (default: api.tls.cert, else <stateDir>/api.crt)')
    .option('--key <file>', 'private key, written 0600 (default: api.tls.key, else <stateDir>/api.key)')
    .option(
      '--name <host|ip>',
      'a DNS name or IP address clients use (repeat; default: api.listen host, localhost, this host name)',
      collect,
    )
    .option('--days <n>', 'validity in days', '825')
    .option('--force', 'replace existing files (pinned clients then refuse until they pin the new fingerprint)')
    .option('--show', 'print the fingerprint of the existing certificate; write nothing')
    .action((f: CertFlags, cmd: Command) => {
      const g = cmd.optsWithGlobals<{ config?: string; stateDir?: string }>();
      const config = tryConfig(g.config ?? process.env.KICKSTAND_CONFIG ?? DEFAULT_CONFIG_PATH, g.stateDir);
      const stateDir = config?.stateDir ?? g.stateDir ?? DEFAULT_STATE_DIR;
      const certFile = f.cert ?? config?.api.tls.cert ?? join(stateDir, 'api.crt');
      const keyFile = f.key ?? config?.api.tls.key ?? join(stateDir, 'api.key');
      if (f.show) return void process.stdout.write(`${certFingerprint(readFileSync(certFile))}\n`);
      const days = Number(f.days);
      if (!Number.isInteger(days) || days < 1)
        throw new Error(`--days ${f.days}: a whole number of days ≥ 1, e.g. --days 825`);
      const names = f.name ?? defaultNames(config);
      const fp = generateSelfSigned({ certFile, keyFile, names, days, force: f.force });
      process.stdout.write(`${fp}\n`);
      process.stderr.write(
        `wrote ${certFile} and ${keyFile} (0600) for ${names.join(', ')}\n` +
          `set api.tls: { cert: ${certFile}, key: ${keyFile} } in the config, restart the daemon, and pin on clients:\n` +
          `  kickstand --ca ${fp} …   or   export KICKSTAND_CA=${fp}\n`,
      );
    });
}

function tryConfig(file: string, stateDir: string | undefined): Config | null {
  try {
    return loadConfig({ file, overrides: stateDir ? { stateDir } : {} });
  } catch {
    return null; // no config: the flags and defaults decide
  }
}

function defaultNames(config: Config | null): string[] {
  const names = new Set<string>();
  if (config && !config.api.listen.startsWith('unix:')) {
    const [host] = splitHostPort(config.api.listen);
    if (host !== '0.0.0.0' && host !== '::' && host !== '') names.add(host);
  }
  names.add('localhost');
  names.add('127.0.0.1');
  names.add(hostname());
  return [...names];
}
