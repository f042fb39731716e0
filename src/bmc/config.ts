/**
 * @module bmc/config
 * Validation of a host's BMC settings and the public (password-free) view of them that the API
 * returns and the CLI prints. Addresses are checked here because they end up in an ipmitool argv
 * or a Redfish URL (reliability.md A05: argv arrays and allowlisted values, never a shell).
 */
import { ErrorCode, invalid } from '../errors';
import type { BmcConfig, BmcType } from '../model/bmc-settings';

export interface BmcEndpoint {
  /** Redfish only: `https` unless the address said `http://`. */
  scheme: 'https' | 'http';
  /** Host name, IPv4, or IPv6 without brackets. */
  host: string;
  port: number;
}

/** What the API and CLI show for a BMC: everything but the password. */
export interface PublicBmcConfig {
  type: BmcType;
  address: string;
  username: string;
  systemId?: string;
  insecureTls?: boolean;
  efiBoot?: boolean;
  ipmiCipherSuite?: 3 | 17;
  passwordSet: boolean;
}

// RFC 1123 host name (dotted labels), IPv4 literal, or a bracketed IPv6 literal.
const HOSTNAME =
  /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const IPV6 = /^[0-9A-Fa-f:.]{2,45}$/;
const SYSTEM_ID = /^[A-Za-z0-9._~-]{1,128}$/;
// C0/C1 controls: never part of a user name or password we pass on.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** IPMI v2.0 §22.28 (Set User Name): 16 bytes; §22.30 (Set User Password): 20 bytes for v2.0. */
const IPMI_MAX_USER = 16;
const IPMI_MAX_PASSWORD = 20;

function bad(field: string, message: string, fix: string): never {
  throw invalid(ErrorCode.INVALID_INPUT, field, message, fix);
}

/** Splits `host`, `host:port`, `[v6]:port` and (Redfish) `https://host:port`. */
export function parseBmcAddress(address: string, type: BmcType, field = 'bmc.address'): BmcEndpoint {
  let rest = address.trim();
  let scheme: 'https' | 'http' = 'https';
  const m = /^(https?):\/\//i.exec(rest);
  if (m) {
    if (type !== 'redfish')
      bad(field, 'an IPMI address has no URL scheme', 'use host or host:port, e.g. 198.18.0.10:623');
    scheme = m[1]!.toLowerCase() as 'https' | 'http';
    rest = rest.slice(m[0].length).replace(/\/+$/, '');
  }
  let host: string;
  let portText: string | undefined;
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(rest);
  if (v6) {
    host = v6[1]!;
    portText = v6[2];
    if (!IPV6.test(host) || !host.includes(':'))
      bad(field, `${JSON.stringify(address)} is not a valid IPv6 BMC address`, 'use [2001:db8::10]:623');
  } else {
    const parts = rest.split(':');
    if (parts.length > 2)
      bad(
        field,
        `${JSON.stringify(address)}: put IPv6 addresses in brackets`,
        'use [2001:db8::10] or [2001:db8::10]:443',
      );
    host = parts[0]!;
    portText = parts[1];
    if (!HOSTNAME.test(host))
      bad(
        field,
        `${JSON.stringify(address)} is not a host name or IPv4 address`,
        'use host or host:port, e.g. bmc-node1.example or 198.18.0.10:623',
      );
  }
  const defaultPort = type === 'ipmi' ? 623 : scheme === 'https' ? 443 : 80;
  const port = portText === undefined ? defaultPort : Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    bad(field, `port ${JSON.stringify(portText)} is out of range`, 'use a port from 1 to 65535');
  return { scheme, host, port };
}

/** Checks a BMC config and returns a plain copy; throws KS_INVALID_INPUT naming the field. */
export function validateBmcConfig(input: BmcConfig, prefix = 'bmc'): BmcConfig {
  if (input.type !== 'ipmi' && input.type !== 'redfish')
    bad(`${prefix}.type`, `unknown BMC type ${JSON.stringify(input.type)}`, 'use "ipmi" or "redfish"');
  if (typeof input.address !== 'string')
    bad(`${prefix}.address`, 'the BMC address is missing', 'set host or host:port');
  parseBmcAddress(input.address, input.type, `${prefix}.address`);
  const ipmi = input.type === 'ipmi';
  const user = input.username;
  if (typeof user !== 'string' || user.length === 0 || CONTROL.test(user))
    bad(`${prefix}.username`, 'the BMC user name is missing or has control characters', 'set the BMC account name');
  if (Buffer.byteLength(user) > (ipmi ? IPMI_MAX_USER : 256))
    bad(
      `${prefix}.username`,
      'the BMC user name is too long',
      ipmi ? 'IPMI user names are at most 16 bytes' : 'use at most 256 bytes',
    );
  // The password's value never appears in a message.
  const pw = input.password;
  if (typeof pw !== 'string' || pw.length === 0 || CONTROL.test(pw))
    bad(`${prefix}.password`, 'the BMC password is missing or has control characters', 'set the BMC account password');
  if (Buffer.byteLength(pw) > (ipmi ? IPMI_MAX_PASSWORD : 256))
    bad(
      `${prefix}.password`,
      'the BMC password is too long',
      ipmi ? 'IPMI 2.0 passwords are at most 20 bytes' : 'use at most 256 bytes',
    );
  if (input.systemId !== undefined && (ipmi || !SYSTEM_ID.test(input.systemId))) {
    bad(
      `${prefix}.systemId`,
      ipmi ? 'systemId applies to Redfish only' : 'systemId has characters a Redfish id does not',
      ipmi ? 'remove systemId' : 'use the id from /redfish/v1/Systems, e.g. System.Embedded.1',
    );
  }
  if (input.ipmiCipherSuite !== undefined && (!ipmi || (input.ipmiCipherSuite !== 3 && input.ipmiCipherSuite !== 17))) {
    // Suite 0 (no authentication) and the suites without AES confidentiality are refused.
    bad(
      `${prefix}.ipmiCipherSuite`,
      ipmi ? 'only RMCP+ cipher suites 3 and 17 are allowed' : 'ipmiCipherSuite applies to IPMI only',
      ipmi ? 'use 17 (HMAC-SHA256) or 3 (HMAC-SHA1)' : 'remove ipmiCipherSuite',
    );
  }
  if (input.insecureTls === true && ipmi)
    bad(`${prefix}.insecureTls`, 'insecureTls applies to Redfish only', 'remove insecureTls');
  const out: BmcConfig = { type: input.type, address: input.address.trim(), username: user, password: pw };
  if (input.systemId !== undefined) out.systemId = input.systemId;
  if (input.insecureTls !== undefined) out.insecureTls = input.insecureTls === true;
  if (input.efiBoot !== undefined) out.efiBoot = input.efiBoot === true;
  if (input.ipmiCipherSuite !== undefined) out.ipmiCipherSuite = input.ipmiCipherSuite;
  return out;
}

/** The view the API returns and the CLI prints: the password replaced by `passwordSet`. */
export function publicBmcConfig(cfg: BmcConfig): PublicBmcConfig {
  const out: PublicBmcConfig = {
    type: cfg.type,
    address: cfg.address,
    username: cfg.username,
    passwordSet: cfg.password.length > 0,
  };
  if (cfg.systemId !== undefined) out.systemId = cfg.systemId;
  if (cfg.insecureTls !== undefined) out.insecureTls = cfg.insecureTls;
  if (cfg.efiBoot !== undefined) out.efiBoot = cfg.efiBoot;
  if (cfg.ipmiCipherSuite !== undefined) out.ipmiCipherSuite = cfg.ipmiCipherSuite;
  return out;
}
