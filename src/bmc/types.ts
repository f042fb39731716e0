/**
 * @module bmc/types
 * The BMC client contract: one-time PXE boot and chassis power, the same for IPMI (ipmitool over
 * RMCP+) and Redfish (DMTF DSP0266). A host's BMC is optional; when set, `kickstand host reimage
 * --power-cycle` arms the host, then calls `bootOncePxe()` and `power('cycle')`.
 */
import type { Logger } from '../log';

/**
 * `on`/`off` are hard (no OS involvement); `cycle` = off then on (a host that is off is just
 * powered on, see bmc/index.ts); `reset` = hard reset; `soft` = ACPI graceful shutdown.
 */
export type PowerAction = 'on' | 'off' | 'cycle' | 'reset' | 'soft';
export const POWER_ACTIONS: readonly PowerAction[] = ['on', 'off', 'cycle', 'reset', 'soft'];

export type PowerStatus = 'on' | 'off' | 'unknown';

export interface BmcClient {
  /** Boot from the network on the next boot only; later boots follow the firmware order. */
  bootOncePxe(): Promise<void>;
  power(action: PowerAction): Promise<void>;
  status(): Promise<PowerStatus>;
}

export interface BmcDeps {
  log: Logger;
  /** Upper bound for one BMC operation (one ipmitool run, or one Redfish request). Default 30 s. */
  timeoutMs?: number;
  /** The ipmitool executable (default `ipmitool` on PATH). */
  ipmitool?: string;
}

export const DEFAULT_BMC_TIMEOUT_MS = 30_000;
