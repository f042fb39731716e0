/**
 * @module bench/tftp-candidate
 * Starts Kickstand's TFTP server alone, in the foreground, serving a directory: what
 * bench/tftp.sh and ../shared/peer-bench/tftp-peers.sh (`--candidate`) measure, and what the
 * namespace tests run inside their server namespace. Stops on SIGTERM/SIGINT.
 *
 *   node --import tsx bench/tftp-candidate.ts --root DIR [--port 16072] [--address 127.0.0.1]
 *        [--max-blksize 65464] [--max-window 64] [--timeout-ms 1000] [--retries 5]
 *        [--max-sessions 100] [--per-client 100] [--metrics-file FILE] [--cache-file-bytes N]
 *
 * Prints "data phase: native" (plain files in octet mode on the addon's threads) or
 * "data phase: js (why)" and then "listening ADDRESS:PORT" on stdout once bound.
 * KICKSTAND_NATIVE=off in the environment selects the JavaScript path for comparison.
 * With --metrics-file the Prometheus text is written there when the process stops (tests read
 * the counters from it).
 */
import { writeFileSync } from 'node:fs';
import { Registry } from 'prom-client';
import { tftpSchema } from '../src/config/sections/tftp';
import { createLogger, silentLogger } from '../src/log';
import { nativeStatus } from '../src/native';
import { createFileHandler } from '../src/tftp/files';
import { createTftpServer } from '../src/tftp/server';

function arg(name: string, dflt?: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
}

async function main(): Promise<void> {
  const root = arg('root', process.env.PB_ROOT);
  if (!root) throw new Error('--root DIR is required');
  const listen = (arg('address', '127.0.0.1') ?? '127.0.0.1').split(',');
  const config = tftpSchema.parse({
    listen,
    port: Number(arg('port', process.env.PB_PORT ?? '16072')),
    maxBlksize: Number(arg('max-blksize', '65464')),
    maxWindowsize: Number(arg('max-window', '64')),
    timeoutMs: Number(arg('timeout-ms', '1000')),
    retries: Number(arg('retries', '5')),
    maxSessions: Number(arg('max-sessions', '100')),
    maxSessionsPerClient: Number(arg('per-client', '100')),
  });
  const registry = new Registry();
  const log = process.argv.includes('--verbose') ? createLogger({ level: 'debug', pretty: false }) : silentLogger();
  const cacheArg = arg('cache-file-bytes');
  const handler = createFileHandler(root, cacheArg === undefined ? {} : { cacheFileBytes: Number(cacheArg), cacheTotalBytes: Math.max(64 << 20, 2 * Number(cacheArg)) });
  const server = createTftpServer({ config, handler, log, metrics: registry });
  await server.start();
  const ns = nativeStatus();
  process.stdout.write(ns.loaded ? 'data phase: native\n' : `data phase: js (${ns.reason ?? 'unknown'})\n`);
  for (const a of server.addresses()) process.stdout.write(`listening ${a.address}:${a.port}\n`);
  const metricsFile = arg('metrics-file');
  const stop = async (): Promise<void> => {
    await server.stop();
    if (metricsFile) writeFileSync(metricsFile, await registry.metrics());
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
}

main().catch((e: unknown) => {
  process.stderr.write(`tftp-candidate: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
