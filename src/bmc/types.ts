/**
 * @module bmc/types
 * The BMC client contract: one-time PXE boot and chassis power, the same for IPMI (ipmitool over
 * RMCP+) and Redfish (DMTF DSP0266). A host's BMC is optional; when set, `kickstand host reimage
 * --power-cycle` arms the host, then calls `bootOncePxe()` and `power('cycle')`.
 */
import type { Logger } from '../log';

export type BmcType = 'ipmi' | 'redfish';

/** Per-host BMC settings. `password` is a secret: never logged, never returned by the API. */
export interface BmcConfig {
  type: BmcType;
  /**
   * `host` or `host:port` (IPv6 as `[addr]:port`). Redfish also accepts an `https://` prefix, or
   * `http://` for emulators (sends Basic credentials in clear text; warned at start).
   */
  address: string;
  username: string;
  password: string;
  /** Redfish: the ComputerSystem id (`/redfish/v1/Systems/{id}`); default: the only member. */
  systemId?: string;
  /** Redfish: accept the BMC's self-signed certificate. Off by default. */
  insecureTls?: boolean;
  /**
   * Ask for a UEFI (not legacy BIOS) network boot: IPMI `options=efiboot` (boot flags byte 1
   * bit 5), Redfish `BootSourceOverrideMode: "UEFI"` when the system exposes that property.
   * Default false: the firmware keeps the mode it boots in now.
   */
  efiBoot?: boolean;
  /**
   * IPMI: RMCP+ cipher suite (IPMI v2.0 §22.15.2): 17 (HMAC-SHA256, AES-CBC-128) or 3
   * (HMAC-SHA1, AES-CBC-128). Default: ipmitool asks the BMC (Get Channel Cipher Suites) and
   * takes 17 when offered, else 3. Set it for BMCs that do not answer that command.
   */
  ipmiCipherSuite?: 3 | 17;
}

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
