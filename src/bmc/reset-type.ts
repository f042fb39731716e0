/**
 * @module bmc/reset-type
 * Maps a Kickstand power action to a Redfish `ResetType` (Resource.ResetType in the DMTF
 * schema, used by ComputerSystem.Reset, DSP2046) and picks the best one the BMC allows.
 * Preferences, best first; the first one the BMC advertises wins:
 * - on:    On, ForceOn
 * - off:   ForceOff (hard, like IPMI Chassis Control 00h)
 * - cycle: PowerCycle (off then on, like IPMI 02h), else ForceRestart (iLO 5 has no PowerCycle)
 * - reset: ForceRestart, else PowerCycle
 * - soft:  GracefulShutdown (ACPI, like IPMI 05h)
 */
import { ErrorCode, KickstandError } from '../errors';
import type { PowerAction } from './types';

export const RESET_PREFERENCES: Record<PowerAction, readonly string[]> = {
  on: ['On', 'ForceOn'],
  off: ['ForceOff'],
  cycle: ['PowerCycle', 'ForceRestart'],
  reset: ['ForceRestart', 'PowerCycle'],
  soft: ['GracefulShutdown'],
};

/**
 * The ResetType to send. `allowed` undefined = the BMC did not advertise AllowableValues, so the
 * first preference is sent (every ResetType above is in the schema since ComputerSystem v1.0,
 * PowerCycle since Resource v1.1).
 */
export function pickResetType(action: PowerAction, allowed: readonly string[] | undefined): string {
  const prefs = RESET_PREFERENCES[action];
  if (allowed === undefined) return prefs[0]!;
  const hit = prefs.find((p) => allowed.includes(p));
  if (hit !== undefined) return hit;
  throw new KickstandError(
    ErrorCode.BMC_FAILED,
    `the BMC allows no ResetType for power ${action} (wanted ${prefs.join(' or ')}; it allows ${allowed.join(', ') || 'none'})`,
    { fix: 'use another power action, or update the BMC firmware' },
  );
}
