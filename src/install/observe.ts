/**
 * @module install/observe
 * Pure observation events: the timeline records that something was served (an iPXE script,
 * a GRUB config), and nothing is decided from that record. They are appended into the next
 * group commit without the answer waiting for their fsync (docs/install-flow.md, "What is
 * durable before the answer"): a crash can lose such an event, never a state change. Every
 * state change of a boot (token issue and claim, address binding, discovery, lease, arm and
 * disarm) is still awaited, durable, before the machine is answered. Asset and TFTP transfer
 * events were already written this way (hosts/timeline-bridge.ts).
 */
import type { Logger } from '../log';
import type { NewEvent } from '../model/event';
import type { Store } from '../store/store';

/** Appends `e` without waiting for it; a failed append is logged, never thrown. */
export function observe(store: Store, log: Logger, e: NewEvent): void {
  store.events.append(e).catch((err: unknown) => {
    log.warn({ err, kind: e.kind, host: e.host ?? null }, 'observation event not recorded');
  });
}
