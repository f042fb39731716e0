/**
 * @module config/live
 * The configuration in force, swappable on SIGHUP for the parts that are safe to change while
 * running (profiles, template vars, install timings, log level). Parts bound to sockets or
 * files (stateDir, http, network, dhcp, tftp, api, secrets, store) need a restart: a reload that changes them
 * keeps the old values and says so. So do profiles' DHCP options (the DHCP server encodes them at
 * start): the rest of a profile changes at once, its `dhcpOptions` at the next start.
 */
import { isDeepStrictEqual } from 'node:util';
import type { Config } from './schema';
import { EMPTY_OPTION_SET } from './sections/dhcp-options';

export const RESTART_KEYS = [
  'stateDir',
  'http',
  'api',
  'secrets',
  'network',
  'dhcp',
  'tftp',
  'imagesDir',
  'kickstartsDir',
  'store',
] as const;

export class LiveConfig {
  private listeners: Array<(c: Config) => void> = [];

  constructor(private cfg: Config) {}

  get current(): Config {
    return this.cfg;
  }

  /**
   * Applies the reloadable parts of `next`; returns the keys that changed but need a restart.
   */
  reload(next: Config): string[] {
    const needRestart: string[] = RESTART_KEYS.filter((k) => !isDeepStrictEqual(this.cfg[k], next[k]));
    // The DHCP server encodes profile options once at start (dhcp/option-sets.ts).
    if (!isDeepStrictEqual(profileDhcpOptions(this.cfg), profileDhcpOptions(next)))
      needRestart.push('profiles.*.dhcpOptions');
    const merged: Config = Object.freeze({ ...next, ...Object.fromEntries(RESTART_KEYS.map((k) => [k, this.cfg[k]])) });
    this.cfg = merged;
    for (const l of this.listeners) l(merged);
    return needRestart;
  }

  onReload(fn: (c: Config) => void): void {
    this.listeners.push(fn);
  }
}

/** Profiles' DHCP options; a profile without any (the default empty set) needs no restart to add or drop. */
function profileDhcpOptions(c: Config): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(c.profiles)
      .filter(([, p]) => !isDeepStrictEqual(p.dhcpOptions, EMPTY_OPTION_SET))
      .map(([name, p]) => [name, p.dhcpOptions]),
  );
}
