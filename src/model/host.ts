/**
 * @module model/host
 * A machine in the registry and the rules for its name and template vars.
 * The allowed state transitions live in model/host-state.ts; only that module changes `state`.
 */
import { ErrorCode, invalid } from '../errors';

export const HOST_STATES = [
  'registered', // known, not armed for install: netboot gets the local-boot script
  'armed', // next netboot installs (one-time token issued)
  'installing', // %pre called back
  'installed', // %post called back with the SSH host key; netboot disarmed
  'bootstrapping', // SSH bootstrapper running (mesh, cluster)
  'ready', // in the mesh and the cluster
  'failed', // a step failed or timed out; stateReason says why
] as const;
export type HostState = (typeof HOST_STATES)[number];

export interface Host {
  /** RFC 1123 label, unique. */
  name: string;
  /** Canonical MACs (model/mac.ts), unique across hosts; at least one. */
  macs: string[];
  profile: string;
  role: string;
  /** Static IPv4 reservation inside the provisioning subnet, unique; null = from the pool. */
  ipv4: string | null;
  /** Free-form template vars; values are single-line strings without control characters. */
  vars: Record<string, string>;
  /** When true, the next netboot installs; cleared by the installed callback (one-shot). */
  netboot: boolean;
  state: HostState;
  /** Why the host is in its state (the cause of the last transition). */
  stateReason: string | null;
  /** OpenSSH public host keys reported by the authenticated %post callback (`ssh-ed25519 AAAA…`). */
  sshHostKeys: string[];
  createdAt: string;
  updatedAt: string;
  /** Bumped on each update; optimistic concurrency for read-modify-write. */
  version: number;
}

/** What the registry accepts to create a host; the rest is defaulted. */
export interface NewHost {
  name: string;
  macs: string[];
  profile: string;
  role: string;
  ipv4?: string | null;
  vars?: Record<string, string>;
  netboot?: boolean;
}

/** Fields `store.hosts.update` may change. */
export type HostPatch = Partial<
  Pick<Host, 'macs' | 'profile' | 'role' | 'ipv4' | 'vars' | 'netboot' | 'state' | 'stateReason' | 'sshHostKeys'>
>;

// RFC 1123 §2.1 host name label: letters, digits, hyphen; 1-63; no leading/trailing hyphen.
const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

export function validateHostName(name: string, field = 'name'): string {
  if (!LABEL.test(name)) {
    throw invalid(
      ErrorCode.INVALID_HOSTNAME,
      field,
      `${JSON.stringify(name)} is not a valid host name (RFC 1123 label)`,
      'use 1-63 lower-case letters, digits and hyphens, not starting or ending with a hyphen, e.g. node1',
    );
  }
  return name;
}

const VAR_KEY = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
// Names that reach Object.prototype in a template context (handlebars `{{constructor}}`).
const RESERVED_KEYS = new Set(['__proto__', 'prototype', ...Object.getOwnPropertyNames(Object.prototype)]);
// Control characters (C0, DEL, C1) and the Unicode line/paragraph separators: a var is one line.
// eslint-disable-next-line no-control-regex
const FORBIDDEN_IN_VALUE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
export const MAX_VAR_VALUE = 4096;

/** Validate template vars: identifier keys, single-line printable values. Returns a plain copy. */
export function validateVars(vars: unknown, field = 'vars'): Record<string, string> {
  if (vars === undefined || vars === null) return {};
  if (typeof vars !== 'object' || Array.isArray(vars)) {
    throw invalid(ErrorCode.INVALID_VAR, field, 'vars must be an object of strings', 'pass e.g. {"timezone":"UTC"}');
  }
  const out = Object.create(null) as Record<string, string>;
  for (const [k, v] of Object.entries(vars as Record<string, unknown>)) {
    if (!VAR_KEY.test(k) || RESERVED_KEYS.has(k)) {
      throw invalid(
        ErrorCode.INVALID_VAR,
        `${field}.${k}`,
        `var name ${JSON.stringify(k)} is not an identifier, or is reserved`,
        'use letters, digits and _ (not first), at most 64, and not a JavaScript built-in name such as constructor or __proto__',
      );
    }
    if (typeof v !== 'string') {
      throw invalid(
        ErrorCode.INVALID_VAR,
        `${field}.${k}`,
        `var ${k} must be a string`,
        `quote the value, e.g. ${k}="value"`,
      );
    }
    if (FORBIDDEN_IN_VALUE.test(v)) {
      throw invalid(
        ErrorCode.INVALID_VAR,
        `${field}.${k}`,
        `var ${k} contains a control character or line break`,
        'a var is a single line of printable text',
      );
    }
    if (v.length > MAX_VAR_VALUE) {
      throw invalid(
        ErrorCode.INVALID_VAR,
        `${field}.${k}`,
        `var ${k} is longer than ${MAX_VAR_VALUE} characters`,
        'shorten it',
      );
    }
    out[k] = v;
  }
  return { ...out };
}
