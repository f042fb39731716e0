/**
 * @module bmc
 * `createBmcClient(cfg, deps)`: a host's BMC as one-time PXE boot + chassis power, over IPMI
 * (ipmitool, bmc/ipmi.ts) or Redfish (bmc/redfish.ts). Validates the config first, logs each
 * operation (never the password: it is not in any log object, and pino redacts `password`,
 * `*.password` and `bmc.password` anyway), and gives `cycle` one meaning on every BMC:
 * a host that is off is powered on (IPMI answers Chassis Control 02h on a powered-off chassis
 * with 0xD5 "not supported in present state", and Redfish ForceRestart/PowerCycle on a system
 * that is off fails or does nothing on several BMCs), so `reimage --power-cycle` always boots.
 */
import type { Logger } from '../log';
import { validateBmcConfig } from './config';
import { createIpmiClient } from './ipmi';
import { createRedfishClient } from './redfish';
import type { BmcConfig } from '../model/bmc-settings';
import { DEFAULT_BMC_TIMEOUT_MS, type BmcClient, type BmcDeps, type PowerAction, type PowerStatus } from './types';

export type { BmcConfig, BmcType } from '../model/bmc-settings';
export type { BmcClient, BmcDeps, PowerAction, PowerStatus } from './types';
export { POWER_ACTIONS } from './types';
export { parseBmcAddress, publicBmcConfig, validateBmcConfig, type PublicBmcConfig } from './config';

export function createBmcClient(cfg: BmcConfig, deps: BmcDeps): BmcClient {
  const valid = validateBmcConfig(cfg);
  const timeoutMs = deps.timeoutMs ?? DEFAULT_BMC_TIMEOUT_MS;
  const log: Logger = deps.log.child({ component: 'bmc', bmcType: valid.type, bmcAddress: valid.address });
  const inner =
    valid.type === 'ipmi'
      ? createIpmiClient(valid, { log, timeoutMs, ipmitool: deps.ipmitool ?? 'ipmitool' })
      : createRedfishClient(valid, { log, timeoutMs });

  /** Logs a failure once here (message and code only; the error never carries the password). */
  async function logged<T>(op: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (e) {
      const err = e as { message?: unknown; code?: unknown };
      log.warn({ op, code: err.code, err: String(err.message) }, 'bmc command failed');
      throw e;
    }
  }

  return {
    bootOncePxe: () =>
      logged('boot-once-pxe', async () => {
        await inner.bootOncePxe();
        log.info({ op: 'boot-once-pxe' }, 'bmc boot override set');
      }),

    power: (action: PowerAction) =>
      logged(`power ${action}`, async () => {
        let sent = action;
        if (action === 'cycle' && (await inner.status()) === 'off') sent = 'on';
        await inner.power(sent);
        log.info({ op: 'power', action, sent }, 'bmc power command sent');
      }),

    status: (): Promise<PowerStatus> => logged('status', () => inner.status()),
  };
}
