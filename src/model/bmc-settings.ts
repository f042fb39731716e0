/**
 * @module model/bmc-settings
 * A host's BMC settings as stored (store/*: one row per host) and handed to the BMC clients
 * (bmc/ipmi.ts over RMCP+, bmc/redfish.ts over DMTF DSP0266).
 */

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
