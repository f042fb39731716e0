/**
 * @module model/host-state
 * The one place that knows which host state may follow which. Every change of `Host.state`
 * goes through {@link checkTransition}; an illegal one is a typed error (KS_ILLEGAL_TRANSITION),
 * never a silent write. Each transition has a cause, recorded as a `host.state` event.
 *
 *   registered ─arm─▶ armed ─%pre─▶ installing ─%post─▶ installed ─ssh─▶ bootstrapping ─▶ ready
 *        ▲              │  ▲            │                  │                │              │
 *        └──disarm──────┘  └──reimage───┴──────────────────┴────────────────┴──────────────┘
 *   any active state ─timeout/error─▶ failed ─reimage/retry─▶ armed | bootstrapping
 */
import { ErrorCode, KickstandError } from '../errors';
import type { HostState } from './host';

export const TRANSITIONS: Readonly<Record<HostState, readonly HostState[]>> = {
  registered: ['armed'],
  // %post may arrive without %pre (a kickstart whose %pre was removed): armed → installed is legal.
  armed: ['registered', 'installing', 'installed', 'failed'],
  installing: ['installed', 'failed', 'armed'],
  installed: ['bootstrapping', 'armed', 'failed', 'registered'],
  bootstrapping: ['ready', 'failed', 'armed'],
  ready: ['bootstrapping', 'armed', 'registered'],
  failed: ['armed', 'bootstrapping', 'registered'],
};

export function canTransition(from: HostState, to: HostState): boolean {
  return TRANSITIONS[from].includes(to);
}

export function checkTransition(host: string, from: HostState, to: HostState): void {
  if (!canTransition(from, to)) {
    throw new KickstandError(ErrorCode.ILLEGAL_TRANSITION, `host ${host} cannot go from ${from} to ${to}`, {
      field: 'state',
      fix: `from ${from} a host may go to: ${TRANSITIONS[from].join(', ')}`,
    });
  }
}
