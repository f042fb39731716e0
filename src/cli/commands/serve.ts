/**
 * @module cli/commands/serve
 * `kickstand serve`: load and validate the config once, build the daemon, start it, and handle
 * signals: SIGTERM/SIGINT stop cleanly (in-flight requests finish, store closed), SIGHUP
 * reloads what is safe to reload.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { certFingerprint } from '../../auth/tls-cert';
import { loadConfig, DEFAULT_CONFIG_PATH } from '../../config/load';

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run the daemon: DHCP, TFTP, HTTP boot and the operator API')
    .option('--listen <host:port>', 'machine listener: boot scripts, kickstarts, /images (overrides http.listen)')
    .option('--api-listen <addr>', 'operator API listener, HOST:PORT or unix:/PATH (overrides api.listen)')
    .action(async (_opts: { listen?: string }, cmd: Command) => {
      const g = cmd.optsWithGlobals<{ config?: string; stateDir?: string; listen?: string; apiListen?: string }>();
      const overrides: { stateDir?: string; listen?: string; apiListen?: string } = {};
      if (g.stateDir !== undefined) overrides.stateDir = g.stateDir;
      if (g.listen !== undefined) overrides.listen = g.listen;
      if (g.apiListen !== undefined) overrides.apiListen = g.apiListen;
      const file = g.config ?? process.env.KICKSTAND_CONFIG ?? DEFAULT_CONFIG_PATH;
      const config = loadConfig({ file, overrides });
      process.umask(0o077); // database, keys and tokens: owner only
      // Loaded on use, so client commands start without express, SQLite, ssh2 (start-up time).
      const { buildDaemon } = await import('../../daemon/index.js');
      const daemon = buildDaemon(config);
      const log = daemon.log;
      await daemon.start();
      const addr = daemon.http.address();
      log.info(
        {
          config: config.source,
          stateDir: config.stateDir,
          machines: `http://${addr?.address}:${addr?.port}`,
          api: `${daemon.api.url()}/api/v1`,
          // What clients pin (--ca / KICKSTAND_CA); the certificate was read at start.
          apiFingerprint: config.api.tls.cert ? certFingerprint(readFileSync(config.api.tls.cert)) : undefined,
          tokenFile: config.api.tokenFile ?? join(config.stateDir, 'api-token'),
          store: daemon.store.kind,
        },
        'kickstand ready',
      );
      let stopping = false;
      const stop = (signal: string): void => {
        if (stopping) return;
        stopping = true;
        log.info({ signal }, 'stopping');
        daemon.stop().then(
          () => {
            log.info('stopped');
            log.flush();
            process.exitCode = 0;
          },
          (err: unknown) => {
            log.error({ err }, 'stop failed');
            process.exitCode = 1;
          },
        );
      };
      process.on('SIGTERM', () => stop('SIGTERM'));
      process.on('SIGINT', () => stop('SIGINT'));
      process.on('SIGHUP', () => {
        try {
          const next = loadConfig({ file, overrides });
          const restart = daemon.reload(next);
          if (restart.length > 0)
            log.warn({ keys: restart }, 'config reloaded; these keys changed and need a restart to take effect');
          else log.info('config reloaded');
        } catch (err) {
          log.error({ err: (err as Error).message }, 'config reload refused; keeping the running config');
        }
      });
    });
}
