/**
 * @module config/live
 * The configuration in force, swappable on SIGHUP for the parts that are safe to change while
 * running (profiles, template vars, install timings, log level). Parts bound to sockets or
 * files (stateDir, http, network, dhcp, tftp, api, secrets, store) need a restart: a reload that changes them
 * keeps the old values and says so.
 */
import { isDeepStrictEqual } from 'node:util';
import type { Config } from './schema';

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
    const needRestart = RESTART_KEYS.filter((k) => !isDeepStrictEqual(this.cfg[k], next[k]));
    const merged: Config = Object.freeze({ ...next, ...Object.fromEntries(RESTART_KEYS.map((k) => [k, this.cfg[k]])) });
    this.cfg = merged;
    for (const l of this.listeners) l(merged);
    return [...needRestart];
  }

  onReload(fn: (c: Config) => void): void {
    this.listeners.push(fn);
  }
}
