/**
 * @module config/schema
 * One schema for the whole configuration file, composed of one section per subsystem. The
 * inferred `Config` type is what every component receives (its own slice of it), frozen.
 */
import { z } from 'zod';
import { apiSchema, isLocalListen } from './sections/api';
import { bootstrapSchema } from './sections/bootstrap';
import { dhcpSchema } from './sections/dhcp';
import { networkSchema } from './sections/network';
import { profilesSchema, templateVarsSchema } from './sections/profiles';
import { storeSchema } from './sections/store';
import { secretsSchema } from './sections/secrets';
import { tftpSchema } from './sections/tftp';

const hostPort = z.string().regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'HOST:PORT, e.g. 0.0.0.0:8080');

export const configSchema = z
  .object({
    /** Where the database, API token and keys live (0700). */
    stateDir: z.string().min(1).default('/var/lib/kickstand'),
    http: z
      .object({
        /** The machine listener: iPXE/GRUB scripts, /images, /ks, callbacks, /healthz. Never the API. */
        listen: hostPort.default('0.0.0.0:8080'),
        /** Base URL machines use to reach this server (iPXE scripts, kickstarts). Default: http://<network.address>:<port>. */
        publicUrl: z.string().url().nullable().default(null),
      })
      .strict()
      .default({ listen: '0.0.0.0:8080', publicUrl: null }),
    api: apiSchema.default(apiSchema.parse({})),
    secrets: secretsSchema.default(secretsSchema.parse({})),
    log: z
      .object({
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
      })
      .strict()
      .default({ level: 'info' }),
    /** Boot assets (loaders, kernels, initrds, install trees). Relative to the config file. */
    imagesDir: z.string().min(1).default('images'),
    /** Kickstart templates (*.ks.hbs, snippets/). Relative to the config file. */
    kickstartsDir: z.string().min(1).default('kickstarts'),
    network: networkSchema,
    dhcp: dhcpSchema.default(dhcpSchema.parse({})),
    tftp: tftpSchema.default(tftpSchema.parse({})),
    install: z
      .object({
        /** Lifetime of a one-time install token, seconds. */
        tokenTtl: z
          .number()
          .int()
          .min(60)
          .default(4 * 3600),
        /** An armed host that has not reported `installed` after this many seconds moves to `failed`. */
        timeout: z
          .number()
          .int()
          .min(60)
          .default(2 * 3600),
      })
      .strict()
      .default({ tokenTtl: 4 * 3600, timeout: 2 * 3600 }),
    bootstrap: bootstrapSchema.default(bootstrapSchema.parse({})),
    /** The store: SQLite in stateDir (default) or a shared PostgreSQL (config/sections/store.ts). */
    store: storeSchema.default(storeSchema.parse({})),
    profiles: profilesSchema.default({}),
    /** Global template vars (lowest precedence: global < profile < host). */
    vars: templateVarsSchema.default({}),
  })
  .strict()
  .superRefine((c, ctx) => {
    // The API off the local host only over TLS: a bearer token in clear text on a network
    // can be read by anything on it (docs/api.md, "TLS").
    const t = c.api.tls;
    if ((t.cert === null) !== (t.key === null))
      ctx.addIssue({
        code: 'custom',
        path: ['api', 'tls', t.cert === null ? 'cert' : 'key'],
        message: 'api.tls needs both cert and key (PEM files)',
      });
    // Offers reserved in the store only matter where daemons share it (docs/scale-out.md "Offers").
    if (c.dhcp.reserveOffers === true && c.store.kind !== 'postgres')
      ctx.addIssue({
        code: 'custom',
        path: ['dhcp', 'reserveOffers'],
        message:
          'only for store.kind: postgres (several daemons on one database); with sqlite one daemon holds its offers in memory: remove dhcp.reserveOffers',
      });
    if (!isLocalListen(c.api.listen) && (t.cert === null || t.key === null))
      ctx.addIssue({
        code: 'custom',
        path: ['api', 'tls'],
        message: `api.listen ${c.api.listen} is not loopback or a unix socket, so it needs TLS: set api.tls.cert and api.tls.key (\`kickstand api cert\` writes a self-signed pair), or listen on 127.0.0.1`,
      });
  });

export type ConfigInput = z.input<typeof configSchema>;
/** What the schema accepts, before config/load.ts resolves paths and defaults that depend on other keys. */
export type ParsedConfig = z.infer<typeof configSchema>;
/** The resolved config every component receives: `http.publicUrl` is always set (config/load.ts). */
export type Config = Readonly<Omit<ParsedConfig, 'http'>> & {
  readonly http: Readonly<{ listen: string; publicUrl: string }>;
  /** Absolute path of the file the config came from (null for built-in defaults). */
  readonly source: string | null;
};

/**
 * An example of a right value for a config key, shown in validation errors. Keys are dotted
 * paths; `*` matches one segment (a profile name).
 */
export const EXAMPLES: Record<string, string> = {
  stateDir: '/var/lib/kickstand',
  'http.listen': '0.0.0.0:8080',
  'http.publicUrl': 'http://198.18.0.1:8080',
  'api.tokenFile': '/var/lib/kickstand/api-token',
  'api.listen': '127.0.0.1:8081  # or unix:/run/kickstand/api.sock, or 198.18.0.1:8443 with api.tls',
  'api.tls': '{ cert: /etc/kickstand/api.crt, key: /etc/kickstand/api.key }',
  'api.tls.cert': '/etc/kickstand/api.crt',
  'api.tls.key': '/etc/kickstand/api.key',
  'secrets.keyFile': '/var/lib/kickstand/secrets.key',
  'log.level': 'info',
  'network.address': '198.18.0.1',
  'network.subnet': '198.18.0.0/24',
  'network.pool.start': '198.18.0.100',
  'network.pool.end': '198.18.0.199',
  'network.gateway': '198.18.0.1',
  'network.dns': '[198.18.0.1]',
  'network.leaseTime': '3600',
  'dhcp.mode': 'authoritative  # or proxy, off',
  'dhcp.unknownHosts': 'ignore  # or discover',
  'dhcp.reserveOffers': 'true  # with store.kind: postgres; remove the key for the default',
  'tftp.listen': '[198.18.0.1]',
  'profiles.*.kernel': 'rocky9/vmlinuz',
  'profiles.*.initrd': 'rocky9/initrd.img',
  'profiles.*.installTree': 'http://198.18.0.1:8080/images/rocky9/tree',
  'profiles.*.kickstart': 'rocky9.ks.hbs',
  'install.tokenTtl': '14400',
  'install.timeout': '7200',
  'store.kind': 'sqlite  # or postgres',
  'store.url': 'postgres://kickstand@db.example:5432/kickstand',
  'store.passwordFile': '/etc/kickstand/db-password',
};

export function exampleFor(path: string): string | undefined {
  if (EXAMPLES[path] !== undefined) return EXAMPLES[path];
  const segs = path.split('.');
  for (const [k, v] of Object.entries(EXAMPLES)) {
    const ks = k.split('.');
    if (ks.length === segs.length && ks.every((s, i) => s === '*' || s === segs[i])) return v;
  }
  return undefined;
}
