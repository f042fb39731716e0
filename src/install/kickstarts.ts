/**
 * @module install/kickstarts
 * Kickstarts rendered ahead of the fetch, so `GET /ks/<token>` is a lookup plus the token
 * check (issue #15; profile in bench/RESULTS.md, boot storm). A host's kickstart is rendered
 * when it is armed (the registry's arm hook, after its token is issued) and, at start, for
 * every host already armed or installing; the first render also compiles the templates and
 * loads the bootstrap key, which a boot storm's first fetch otherwise paid for.
 *
 * The store stays the only source of truth: an entry is text derived from it, kept under
 * KickstartRenderer.inputsKey (host version, token, template generation, live config, bootstrap
 * key) and served only while that key still matches; anything else is rendered again. Token
 * checks, address binding and the durable `fetched` mark stay in the route
 * (http/boot/kickstart-routes.ts), so a prepared text is never served to a request the route
 * refuses. Bounded: at most `max` hosts (oldest prepared dropped first; they render on fetch).
 */
import type { Logger } from '../log';
import type { Host } from '../model/host';
import type { KickstartRenderer } from '../render/kickstart';
import type { Store } from '../store/store';

interface Prepared {
  key: string;
  text: string;
}

export interface PreparedKickstartsDeps {
  store: Store;
  renderer: KickstartRenderer;
  log: Logger;
  /** Most hosts kept (default 10,000: about 30 MB of the shipped template's output). */
  max?: number;
}

export class PreparedKickstarts {
  private readonly byHost = new Map<string, Prepared>();
  private readonly log: Logger;
  private readonly max: number;
  private hits = 0;
  private renders = 0;

  constructor(private readonly deps: PreparedKickstartsDeps) {
    this.log = deps.log.child({ component: 'kickstarts' });
    this.max = deps.max ?? 10_000;
  }

  /** `host`'s kickstart with `token`: the prepared text if its inputs are unchanged, else a fresh render. */
  async get(host: Host, token: string): Promise<string> {
    const key = await this.deps.renderer.inputsKey(host, token);
    const p = this.byHost.get(host.name);
    if (p !== undefined && p.key === key) {
      this.hits++;
      return p.text;
    }
    return this.render(host, token, key);
  }

  /** Renders and keeps `host`'s kickstart with `token` (arm hook, start). Throws what render throws. */
  async prepare(host: Host, token: string): Promise<void> {
    await this.render(host, token, await this.deps.renderer.inputsKey(host, token));
  }

  /** Prepares every armed or installing host's kickstart; a host that cannot render is logged and left to its fetch. */
  async prepareAll(liveToken: (host: string) => Promise<{ token: string } | undefined>): Promise<number> {
    let n = 0;
    for (const host of await this.deps.store.hosts.list()) {
      if (host.state !== 'armed' && host.state !== 'installing') continue;
      const t = await liveToken(host.name);
      if (!t) continue;
      try {
        await this.prepare(host, t.token);
        n++;
      } catch (err) {
        this.log.warn({ host: host.name, err }, 'kickstart not prepared (it is rendered, or refused, at fetch)');
      }
      // Let the event loop breathe between hosts: start-up should not stall on a large registry.
      if (n % 256 === 0) await new Promise((r) => setImmediate(r));
    }
    return n;
  }

  /** Served from a prepared text / rendered, since start (tests, logs). */
  stats(): { hits: number; renders: number; size: number } {
    return { hits: this.hits, renders: this.renders, size: this.byHost.size };
  }

  private async render(host: Host, token: string, key: string): Promise<string> {
    const text = await this.deps.renderer.render(host, token);
    this.renders++;
    this.byHost.delete(host.name); // re-insert: Map order is the eviction order
    this.byHost.set(host.name, { key, text });
    if (this.byHost.size > this.max) this.byHost.delete(this.byHost.keys().next().value!);
    return text;
  }
}
