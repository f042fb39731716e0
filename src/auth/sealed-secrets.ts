/**
 * @module auth/sealed-secrets
 * The store as the daemon sees it, with BMC passwords sealed at rest (auth/secret-box.ts):
 * `bmc.set` seals the password before it reaches the database, `bmc.get` opens it; nothing
 * else changes. Also the two passes over every row: sealing passwords written before sealing
 * existed (once, at start), and `rotate` (a new key, every value re-sealed with it, then the
 * old keys dropped). Writes wait while a rotation runs, and a rotation waits for writes in
 * flight, so no value is left sealed with a dropped key.
 */
import type { Service } from '../lifecycle';
import type { Logger } from '../log';
import type { Store } from '../store/store';
import type { SecretBox } from './secret-box';

/** Associated data of a host's BMC password: the sealed value opens only on that host's row. */
const bmcContext = (host: string): string => `bmc.password:${host}`;

/** Set once every stored password was sealed (so later starts skip the pass). */
export const SEALED_SETTING = 'secrets.sealed.v1';

export interface RotateResult {
  keyId: string;
  resealed: number;
  dropped: string[];
}

export class SealedSecrets {
  /** The store to hand to every service. */
  readonly store: Store;
  private rotation: Promise<unknown> | null = null;
  private inflight = 0;
  private drained: Array<() => void> = [];

  constructor(
    private readonly raw: Store,
    private readonly box: SecretBox,
  ) {
    const bmc = raw.bmc;
    this.store = Object.assign(Object.create(raw) as Store, {
      bmc: {
        get: async (host: string) => {
          const c = await bmc.get(host);
          return c && { ...c, password: box.open(c.password, bmcContext(host)) };
        },
        set: async (host: string, c: Parameters<Store['bmc']['set']>[1]) => {
          while (this.rotation) await this.rotation.catch(() => undefined);
          this.inflight++;
          try {
            await bmc.set(host, { ...c, password: box.seal(c.password, bmcContext(host)) });
          } finally {
            if (--this.inflight === 0) for (const f of this.drained.splice(0)) f();
          }
        },
        delete: (host: string) => bmc.delete(host),
      },
    });
  }

  /** Re-seals every BMC password not sealed with the current key; returns how many were written. */
  async resealAll(): Promise<number> {
    let n = 0;
    for (const h of await this.raw.hosts.list()) {
      const c = await this.raw.bmc.get(h.name);
      if (!c || this.box.isCurrent(c.password)) continue;
      const plain = this.box.open(c.password, bmcContext(h.name));
      await this.raw.bmc.set(h.name, { ...c, password: this.box.seal(plain, bmcContext(h.name)) });
      n++;
    }
    return n;
  }

  /** `kickstand secrets rotate`: a new key, every value re-sealed with it, the old keys dropped. */
  rotate(): Promise<RotateResult> {
    const run = (async () => {
      while (this.inflight > 0) await new Promise<void>((r) => this.drained.push(r));
      const keyId = this.box.addKey();
      const resealed = await this.resealAll();
      return { keyId, resealed, dropped: this.box.dropOldKeys() };
    })();
    this.rotation = run;
    return run.finally(() => {
      if (this.rotation === run) this.rotation = null;
    });
  }

  /** The start-up pass: seals passwords stored in clear by an older Kickstand (once). */
  service(log: Logger): Service {
    return {
      name: 'secrets',
      start: async () => {
        if ((await this.raw.settings.get(SEALED_SETTING)) !== undefined) return;
        const n = await this.resealAll();
        await this.raw.settings.set(SEALED_SETTING, new Date().toISOString());
        if (n > 0) log.info({ sealed: n }, 'BMC passwords stored in clear were sealed');
      },
      stop: async () => {},
    };
  }
}
