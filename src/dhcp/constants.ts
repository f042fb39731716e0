/**
 * @module dhcp/constants
 * Wire constants of DHCPv4 (RFC 2131, RFC 2132) and the PXE options Kickstand reads
 * (RFC 4578, RFC 3004, RFC 3046, RFC 3396, iPXE option 175).
 */

/** RFC 2131 §2: `op` field. */
export const BOOTREQUEST = 1;
export const BOOTREPLY = 2;

/** RFC 2131 §3: the magic cookie 99.130.83.99 that starts the options field. */
export const MAGIC_COOKIE = 0x63825363;

/** Offsets of the fixed BOOTP header (RFC 2131 §2, figure 1). */
export const HEADER_LEN = 236;
export const SNAME_OFFSET = 44;
export const SNAME_LEN = 64;
export const FILE_OFFSET = 108;
export const FILE_LEN = 128;
export const OPTIONS_OFFSET = 240;

/** RFC 2131 §2: minimum message a client must accept (576-byte IP datagram → 548 bytes DHCP). */
export const MIN_MAX_MESSAGE = 576;
/** BOOTP clients (RFC 951) expect at least a 300-byte message; RFC 1542 §3.2. */
export const MIN_BOOTP_LEN = 300;
/** IP (20) + UDP (8) headers: option 57 counts the whole IP datagram (RFC 2132 §9.10). */
export const IP_UDP_OVERHEAD = 28;

/** RFC 2131 §2: broadcast bit of `flags`. */
export const FLAG_BROADCAST = 0x8000;

export const SERVER_PORT = 67;
export const CLIENT_PORT = 68;

/** RFC 2132 §9.6: DHCP message type (option 53) values. */
export const MessageType = {
  DISCOVER: 1,
  OFFER: 2,
  REQUEST: 3,
  DECLINE: 4,
  ACK: 5,
  NAK: 6,
  RELEASE: 7,
  INFORM: 8,
} as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

const TYPE_NAMES: Record<number, string> = Object.fromEntries(Object.entries(MessageType).map(([k, v]) => [v, k]));

/** `DISCOVER`, `ACK`, … or `type-N` for an unknown value (metric labels, logs). */
export function messageTypeName(t: number | undefined): string {
  if (t === undefined) return 'bootp';
  return TYPE_NAMES[t] ?? `type-${t}`;
}

/** Option codes Kickstand reads or writes (RFC 2132 unless noted). */
export const Opt = {
  PAD: 0,
  SUBNET_MASK: 1,
  ROUTER: 3,
  DNS: 6,
  HOSTNAME: 12,
  DOMAIN_NAME: 15,
  INTERFACE_MTU: 26, // RFC 2132 §5.1
  BROADCAST_ADDRESS: 28,
  NTP_SERVERS: 42, // RFC 2132 §8.3
  VENDOR_SPECIFIC: 43,
  REQUESTED_IP: 50,
  LEASE_TIME: 51,
  OVERLOAD: 52,
  MESSAGE_TYPE: 53,
  SERVER_ID: 54,
  PARAM_REQUEST_LIST: 55,
  MESSAGE: 56,
  MAX_MESSAGE_SIZE: 57,
  RENEWAL_TIME: 58,
  REBINDING_TIME: 59,
  VENDOR_CLASS: 60,
  CLIENT_ID: 61,
  TFTP_SERVER_NAME: 66,
  BOOTFILE_NAME: 67,
  USER_CLASS: 77, // RFC 3004
  FQDN: 81, // RFC 4702
  RELAY_AGENT_INFO: 82, // RFC 3046
  CLIENT_ARCH: 93, // RFC 4578 §2.1
  CLIENT_NDI: 94, // RFC 4578 §2.2
  CLIENT_UUID: 97, // RFC 4578 §2.3
  SUBNET_SELECTION: 118, // RFC 3011
  DOMAIN_SEARCH: 119, // RFC 3397
  IPXE_ENCAP: 175, // iPXE encapsulated options
  END: 255,
} as const;

/** RFC 2132 §9.3: values of option 52. */
export const Overload = { FILE: 1, SNAME: 2, BOTH: 3 } as const;

/** RFC 3046 §2.0 / RFC 3527: option 82 sub-options. */
export const RelaySub = { CIRCUIT_ID: 1, REMOTE_ID: 2, LINK_SELECTION: 5 } as const;

/** PXE spec 2.1 table 2-1: option 43 sub-option 6, PXE_DISCOVERY_CONTROL. */
export const PXE_DISCOVERY_CONTROL = 6;
/** Bit 3: use the boot file in this packet, skip boot-server discovery. */
export const PXE_DC_BOOTFILE_ONLY = 0x08;
