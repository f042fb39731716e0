/**
 * @module metrics
 * The Prometheus registry every component registers its metrics in (exposed at /metrics).
 */
import { Registry, collectDefaultMetrics } from 'prom-client';

export function createMetrics(opts: { defaults?: boolean } = {}): Registry {
  const registry = new Registry();
  if (opts.defaults !== false) collectDefaultMetrics({ register: registry, prefix: 'kickstand_' });
  return registry;
}
