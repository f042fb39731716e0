/**
 * @module log
 * The pino root logger. Components take a child: `log.child({ component: 'dhcp' })`, then bind
 * per-transaction fields (`{ mac, xid }`); the message is constant and data goes in the object.
 * Secrets are redacted by path when the logger is built (pino `redact`), and every string that
 * looks like a secret we issued is also scrubbed by {@link redactSecrets} where free text is logged.
 */
import pino, { type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

/** Object paths whose values are never written to a log line. */
export const REDACT_PATHS = [
  'token',
  '*.token',
  'apiToken',
  '*.apiToken',
  'authorization',
  '*.authorization',
  'req.headers.authorization',
  'headers.authorization',
  'password',
  '*.password',
  'privateKey',
  '*.privateKey',
  'joinToken',
  '*.joinToken',
  'secret',
  '*.secret',
  'bmc.password',
  '*.bmc.password',
];

export interface LogOptions {
  level?: string;
  /** Pretty, human lines (default: when stderr is a TTY). */
  pretty?: boolean;
  /** Destination; default stderr (fd 2). */
  destination?: NodeJS.WritableStream | pino.DestinationStream;
}

export function createLogger(opts: LogOptions = {}): Logger {
  const options: LoggerOptions = {
    level: opts.level ?? 'info',
    base: { service: 'kickstand' },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  const pretty = opts.pretty ?? (opts.destination === undefined && process.stderr.isTTY === true);
  if (pretty) {
    return pino({
      ...options,
      transport: { target: 'pino-pretty', options: { destination: 2, translateTime: 'SYS:HH:MM:ss.l' } },
    });
  }
  return pino(options, opts.destination ?? pino.destination({ dest: 2, sync: false }));
}

/** A logger that writes nothing: the default for components built without one (tests). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/** Bearer tokens, install tokens in URLs (`/t/<token>/`, `token=`), WireGuard private keys. */
const SECRET_PATTERNS: RegExp[] = [
  /(Bearer\s+)[A-Za-z0-9._~+/=-]+/gi,
  /([?&]token=)[^&\s"']+/gi,
  /(\/(?:t|ks|cb)\/)[A-Za-z0-9_-]{16,}/g,
  /(PrivateKey\s*=\s*)[A-Za-z0-9+/=]{40,}/gi,
];

/** Scrubs secrets out of free text (command output, URLs) before it is logged or stored. */
export function redactSecrets(text: string, extra: readonly string[] = []): string {
  let out = text;
  for (const re of SECRET_PATTERNS) out = out.replace(re, '$1[redacted]');
  for (const s of extra) if (s.length >= 6) out = out.split(s).join('[redacted]');
  return out;
}
