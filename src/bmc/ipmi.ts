/**
 * @module bmc/ipmi
 * IPMI BMC client: drives ipmitool (bmc/ipmitool.ts) over RMCP+.
 * - one-time PXE: `chassis bootdev pxe [options=efiboot]` = Set System Boot Options parameter 5
 *   (boot flags, IPMI v2.0 §28.12, Table 28-14) with "valid" set and "persistent" clear, so the
 *   override applies to the next boot only; the BMC clears it after that boot.
 * - power: `chassis power on|off|cycle|reset|soft` = Chassis Control (§28.3) 01h/00h/02h/03h/05h.
 * - status: `chassis power status` = Get Chassis Status (§28.2) byte 1 bit 0.
 */
import { ErrorCode, KickstandError } from '../errors';
import type { Logger } from '../log';
import { parseBmcAddress } from './config';
import { runIpmitool, type IpmitoolTarget } from './ipmitool';
import type { BmcConfig } from '../model/bmc-settings';
import type { BmcClient, PowerAction, PowerStatus } from './types';

export interface IpmiClientOptions {
  log: Logger;
  timeoutMs: number;
  ipmitool: string;
}

export function createIpmiClient(cfg: BmcConfig, opts: IpmiClientOptions): BmcClient {
  const target: IpmitoolTarget = {
    endpoint: parseBmcAddress(cfg.address, 'ipmi'),
    username: cfg.username,
    password: cfg.password,
  };
  if (cfg.ipmiCipherSuite !== undefined) target.cipherSuite = cfg.ipmiCipherSuite;
  const run = (command: string[]): Promise<string> =>
    runIpmitool(target, command, { bin: opts.ipmitool, timeoutMs: opts.timeoutMs, log: opts.log });

  return {
    async bootOncePxe(): Promise<void> {
      const command = ['chassis', 'bootdev', 'pxe'];
      // Boot flags byte 1 bit 5: "BIOS boot type" = EFI (§28.13); ipmitool spells it options=efiboot.
      if (cfg.efiBoot === true) command.push('options=efiboot');
      const out = await run(command);
      if (!/Set Boot Device to pxe/i.test(out)) throw unexpected('chassis bootdev pxe', out);
    },

    async power(action: PowerAction): Promise<void> {
      const out = await run(['chassis', 'power', action]);
      if (!/Chassis Power Control:/i.test(out)) throw unexpected(`chassis power ${action}`, out);
    },

    async status(): Promise<PowerStatus> {
      const out = await run(['chassis', 'power', 'status']);
      return parsePowerStatus(out);
    },
  };
}

/** `Chassis Power is on` / `Chassis Power is off` (ipmitool lib/ipmi_chassis.c). */
export function parsePowerStatus(stdout: string): PowerStatus {
  const m = /Chassis Power is (on|off)/i.exec(stdout);
  if (m === null) return 'unknown';
  return m[1]!.toLowerCase() === 'on' ? 'on' : 'off';
}

function unexpected(op: string, stdout: string): KickstandError {
  const text = stdout.trim().slice(0, 200);
  return new KickstandError(
    ErrorCode.BMC_FAILED,
    `ipmitool "${op}" printed an unexpected answer: ${JSON.stringify(text)}`,
    {
      fix: 'check the ipmitool version (1.8.18 or later) and the BMC firmware',
    },
  );
}
