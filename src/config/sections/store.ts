/**
 * @module config/sections/store
 * Where the daemon keeps its state: the embedded SQLite file in stateDir (default), or a
 * PostgreSQL database shared by several daemons (docs/scale-out.md). The password is never a
 * config value: it comes from `passwordFile` or libpq's PGPASSWORD, so that the config (and
 * anything that prints or logs it) holds no secret.
 */
import { z } from 'zod';

/** True when `url` is a postgres:// or postgresql:// URL. */
function isPgUrl(url: string): boolean {
  try {
    const u = new URL(url);
    return u.protocol === 'postgres:' || u.protocol === 'postgresql:';
  } catch {
    return false;
  }
}

function urlHasPassword(url: string): boolean {
  try {
    const u = new URL(url);
    return u.password !== '' || /(^|&)password=/i.test(u.search.slice(1));
  } catch {
    return false;
  }
}

export const storeSchema = z
  .object({
    /** sqlite: one file in stateDir (embedded default); postgres: a database several daemons share. */
    kind: z.enum(['sqlite', 'postgres']).default('sqlite'),
    /** PostgreSQL connection URL without the password (kind: postgres). */
    url: z.string().nullable().default(null),
    /** File holding the PostgreSQL password (first line). Relative to the config file. Else PGPASSWORD. */
    passwordFile: z.string().min(1).nullable().default(null),
    /** Largest number of connections this daemon opens (kind: postgres). */
    poolSize: z.number().int().min(2).max(100).default(8),
    /** This daemon's name on the events it records (kind: postgres; default: the machine's hostname). */
    daemonName: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'letters, digits, ".", "_" or "-", at most 63')
      .nullable()
      .default(null),
    /**
     * Longest wait for a PostgreSQL connection or a statement, ms (kind: postgres). A restart or
     * a partition is noticed within it: the write fails, the connection is dropped and a new one
     * opened for the next; DHCP sends no ACK for a lease it could not commit.
     */
    timeoutMs: z.number().int().min(100).max(600_000).default(5000),
    /**
     * How long the claim of the daemon driving a rolling rebuild lasts without renewal, ms
     * (renewed every third of it): a rollout whose daemon died is resumed by another, or by the
     * same one restarted at once, within about this long (hosts/rollout.ts, docs/scale-out.md).
     */
    rolloutClaimTtlMs: z.number().int().min(1000).max(3_600_000).default(300_000),
    /** Least time between WAL fsyncs of the SQLite store, ms (store/sqlite/group-commit.ts; default 1); 0 = one per event-loop turn. */
    syncIntervalMs: z.number().int().min(0).max(1000).nullable().default(null),
    /** Period of the worker-thread WAL checkpoints, ms (store/sqlite/checkpointer.ts); 0 = SQLite's own, inside COMMIT. */
    checkpointPeriodMs: z.number().int().min(0).nullable().default(null),
  })
  .strict()
  .superRefine((s, ctx) => {
    if (s.kind === 'postgres') {
      if (s.url === null) {
        ctx.addIssue({
          code: z.ZodIssueCode.custom,
          path: ['url'],
          message: 'required when store.kind is postgres (a postgres:// URL without the password)',
        });
      } else if (!isPgUrl(s.url)) {
        ctx.addIssue({
          code: z.ZodIssueCode.custom,
          path: ['url'],
          message: 'not a postgres:// or postgresql:// URL',
        });
      } else if (urlHasPassword(s.url)) {
        ctx.addIssue({
          code: z.ZodIssueCode.custom,
          path: ['url'],
          message:
            'holds a password; remove it from the URL and put it in a file named by store.passwordFile (or PGPASSWORD)',
        });
      }
    } else {
      if (s.url !== null)
        ctx.addIssue({
          code: z.ZodIssueCode.custom,
          path: ['url'],
          message: 'only for store.kind: postgres (set store.kind: postgres, or remove store.url)',
        });
      if (s.passwordFile !== null)
        ctx.addIssue({
          code: z.ZodIssueCode.custom,
          path: ['passwordFile'],
          message: 'only for store.kind: postgres (set store.kind: postgres, or remove store.passwordFile)',
        });
    }
  });

export type StoreConfig = z.infer<typeof storeSchema>;
