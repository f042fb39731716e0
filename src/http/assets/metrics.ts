/**
 * @module http/assets/metrics
 * Prometheus counters for boot-asset serving. Registered once per Registry (a second router
 * on the same registry reuses them instead of throwing on a duplicate name).
 */
import { Counter, type Registry } from 'prom-client';

export interface AssetMetrics {
  responses: Counter<'status'>;
  bytes: Counter;
  sendfileBytes: Counter;
  refused: Counter<'reason'>;
  ranges: Counter<'kind'>;
}

function counter<L extends string>(reg: Registry, name: string, help: string, labelNames: L[]): Counter<L> {
  const existing = reg.getSingleMetric(name);
  if (existing !== undefined) return existing as Counter<L>;
  return new Counter<L>({ name, help, labelNames, registers: [reg] });
}

export function assetMetrics(reg: Registry): AssetMetrics {
  return {
    responses: counter(
      reg,
      'kickstand_http_asset_responses_total',
      'Boot-asset responses under /images, by HTTP status',
      ['status'],
    ),
    bytes: counter(reg, 'kickstand_http_asset_body_bytes_total', 'Boot-asset body bytes written to sockets', []),
    sendfileBytes: counter(
      reg,
      'kickstand_http_asset_sendfile_bytes_total',
      'Of those, bytes sent with sendfile(2) (native addon); the rest were copied through user space',
      [],
    ),
    refused: counter(reg, 'kickstand_http_asset_refused_total', 'Boot-asset paths refused by the jail, by reason', [
      'reason',
    ]),
    ranges: counter(
      reg,
      'kickstand_http_asset_ranges_total',
      'Range requests by outcome (single, multipart, ignored, unsatisfiable, stale)',
      ['kind'],
    ),
  };
}
