/**
 * @module config/sections/bootstrap
 * The agentless SSH bootstrapper (src/bootstrap/): SSH, plan timeouts and retries, the
 * WireGuard mesh Kickstand owns, and the k3s join. Owned by the bootstrapper.
 */
import { z } from 'zod';
import { cidr } from './network';

/** A k3s release tag as GitHub publishes it, e.g. `v1.31.4+k3s1` or `v1.32.0-rc1+k3s1`. */
export const K3S_VERSION = /^v\d+\.\d+\.\d+(?:-[0-9A-Za-z.]+)?\+k3s\d+$/;

const absPath = z.string().regex(/^\/[A-Za-z0-9._/-]*$/, 'an absolute path of letters, digits and . _ - /');

export const bootstrapSchema = z
  .object({
    /** Bootstrap installed hosts automatically (callback or SSH probe). `kickstand host bootstrap` works either way. */
    enabled: z.boolean().default(true),
    ssh: z
      .object({
        user: z
          .string()
          .regex(/^[a-z_][a-z0-9_-]{0,31}$/)
          .default('root'),
        port: z.number().int().min(1).max(65535).default(22),
        /** Handshake bound (reliability.md S05/G20: 20 s). */
        readyTimeoutMs: z.number().int().min(500).max(120_000).default(20_000),
      })
      .strict()
      .default({ user: 'root', port: 22, readyTimeoutMs: 20_000 }),
    /** Hosts bootstrapped at once (like mgmt's --cconns); one slow host never blocks the others. */
    parallelism: z.number().int().min(1).max(256).default(16),
    /** Default per-step deadline and retries (a step may set its own). */
    stepTimeoutMs: z.number().int().min(1000).max(3_600_000).default(300_000),
    stepRetries: z.number().int().min(0).max(10).default(2),
    retryDelayMs: z.number().int().min(0).max(600_000).default(3000),
    /** SSH port probe for installed hosts: first delay, cap, and give-up time (backoff doubles). */
    probe: z
      .object({
        enabled: z.boolean().default(true),
        initialDelayMs: z.number().int().min(100).default(5000),
        maxDelayMs: z.number().int().min(100).default(60_000),
        giveUpAfterMs: z
          .number()
          .int()
          .min(1000)
          .default(2 * 3600_000),
      })
      .strict()
      .default({ enabled: true, initialDelayMs: 5000, maxDelayMs: 60_000, giveUpAfterMs: 2 * 3600_000 }),
    /** Directory on the node for Kickstand's markers (e.g. the k3s join record). */
    nodeStateDir: absPath.default('/var/lib/kickstand'),
    mesh: z
      .object({
        enabled: z.boolean().default(true),
        /** Mesh addresses are allocated from here, one per host, stable across re-bootstrap. */
        cidr: cidr.default('198.19.0.0/16'),
        listenPort: z.number().int().min(1).max(65535).default(51820),
        interface: z
          .string()
          .regex(/^[a-z][a-z0-9]{0,14}$/)
          .default('wg0'),
        /** Where the node keeps wg0.conf (wg-quick format) and its private key (generated on the node). */
        configDir: absPath.default('/etc/wireguard'),
        persistentKeepalive: z.number().int().min(0).max(3600).default(25),
      })
      .strict()
      .default({
        enabled: true,
        cidr: '198.19.0.0/16',
        listenPort: 51820,
        interface: 'wg0',
        configDir: '/etc/wireguard',
        persistentKeepalive: 25,
      }),
    k3s: z
      .object({
        enabled: z.boolean().default(true),
        /**
         * Where the node gets k3s. `bundle`: from Kickstand's HTTP (`/images/k3s/<version>/<arch>/`,
         * filled by `kickstand images import k3s DIR`), each file checked against the SHA-256
         * recorded at import; nothing is fetched from the internet. `internet`: runs installCommand.
         */
        source: z.enum(['bundle', 'internet']).default('bundle'),
        /** The imported k3s version to install (source bundle); null: the only one imported. */
        version: z.string().regex(K3S_VERSION, 'a k3s release tag such as v1.31.4+k3s1').nullable().default(null),
        /**
         * source internet only: the shell command that installs k3s; receives `server|agent` and
         * k3s flags as arguments and K3S_TOKEN (and K3S_URL for agents) in its environment.
         */
        installCommand: z.string().min(1).default('curl -sfL https://get.k3s.io | sh -s -'),
        /** Extra flags appended to every k3s invocation. */
        extraArgs: z.array(z.string().regex(/^[A-Za-z0-9=:,./_@-]+$/)).default([]),
        apiPort: z.number().int().min(1).max(65535).default(6443),
        /**
         * How long an agent's k3s.join waits for the first server to initialise the cluster
         * before it fails with KS_K3S_NO_SERVER (it is bootstrapped again when a server is ready).
         */
        serverWaitMs: z.number().int().min(0).max(3_600_000).default(120_000),
      })
      .strict()
      .default({
        enabled: true,
        source: 'bundle',
        version: null,
        installCommand: 'curl -sfL https://get.k3s.io | sh -s -',
        extraArgs: [],
        apiPort: 6443,
        serverWaitMs: 120_000,
      }),
  })
  .strict();

export type BootstrapConfig = z.infer<typeof bootstrapSchema>;
