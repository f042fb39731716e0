/**
 * @module bmc/redfish-resource
 * Reading Redfish payloads defensively: links that must stay on the service, the ComputerSystem
 * collection, the Reset action and its allowable values (inline annotation or ActionInfo,
 * DSP0266 "Allowable values" and "Action info"), and Redfish error responses (DSP0266 "Error responses").
 */
import { ErrorCode, KickstandError } from '../errors';
import type { RedfishRequest, RedfishResponse } from './redfish-http';

export type Json = Record<string, unknown>;

export function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function stringArray(v: unknown): string[] | undefined {
  return Array.isArray(v) && v.every((x) => typeof x === 'string') ? v : undefined;
}

/**
 * An `@odata.id` or action `target` as a path on this service. Redfish links are relative
 * URIs (DSP0266 "Resource URI"); anything else (another origin, `..`, a query) is refused, so
 * credentials are never sent where the BMC points them.
 */
export function servicePath(link: unknown, what: string): string {
  if (
    typeof link !== 'string' ||
    !/^\/redfish\/v1\/[A-Za-z0-9._~%!$&'()*+,;=:@/-]*$/.test(link) ||
    /(^|\/)\.\.?(\/|$)/.test(link)
  ) {
    throw new KickstandError(
      ErrorCode.BMC_FAILED,
      `the BMC gave ${what} ${JSON.stringify(link)}, which is not a path on its Redfish service`,
      {
        fix: 'set systemId for this BMC, or update the BMC firmware',
      },
    );
  }
  return link.replace(/\/+$/, '');
}

/** The member paths of a collection (`Members: [{ "@odata.id": ... }]`). */
export function memberPaths(body: unknown): string[] {
  const members = isObject(body) && Array.isArray(body.Members) ? body.Members : [];
  return members.map((m, i) => servicePath(isObject(m) ? m['@odata.id'] : undefined, `Members[${i}]`));
}

export interface ResetAction {
  target: string;
  /** Inline `ResetType@Redfish.AllowableValues`, when present. */
  allowed: string[] | undefined;
  /** `@Redfish.ActionInfo` link, when present (bmcweb publishes ResetActionInfo). */
  actionInfo: string | undefined;
}

export function resetAction(system: Json, systemPath: string): ResetAction {
  const actions = isObject(system.Actions) ? system.Actions : {};
  const reset = actions['#ComputerSystem.Reset'];
  if (!isObject(reset)) {
    throw new KickstandError(
      ErrorCode.BMC_FAILED,
      `the Redfish system ${systemPath} has no #ComputerSystem.Reset action`,
      {
        fix: 'check that systemId names a ComputerSystem the BMC can power-control',
      },
    );
  }
  const target =
    reset.target === undefined
      ? `${systemPath}/Actions/ComputerSystem.Reset`
      : servicePath(reset.target, 'the Reset target');
  const info = reset['@Redfish.ActionInfo'];
  return {
    target,
    allowed: stringArray(reset['ResetType@Redfish.AllowableValues']),
    actionInfo: info === undefined ? undefined : servicePath(info, 'the Reset ActionInfo'),
  };
}

/** `Parameters[Name=ResetType].AllowableValues` of an ActionInfo resource. */
export function actionInfoAllowed(body: unknown, parameter: string): string[] | undefined {
  const params: unknown[] = isObject(body) && Array.isArray(body.Parameters) ? body.Parameters : [];
  const p = params.find((x) => isObject(x) && x.Name === parameter);
  return isObject(p) ? stringArray(p.AllowableValues) : undefined;
}

/** `error.message` plus each `@Message.ExtendedInfo` MessageId: Message. At most 400 chars. */
export function redfishErrorText(body: unknown): string {
  if (!isObject(body) || !isObject(body.error)) return '';
  const err = body.error;
  const parts: string[] = [];
  if (typeof err.message === 'string') parts.push(err.message);
  const info = Array.isArray(err['@Message.ExtendedInfo']) ? err['@Message.ExtendedInfo'] : [];
  for (const i of info) {
    if (isObject(i)) parts.push([i.MessageId, i.Message].filter((x) => typeof x === 'string').join(': '));
  }
  const text = parts.filter((p) => p.length > 0).join('; ');
  return text.length > 400 ? `${text.slice(0, 397)}...` : text;
}

/** A non-2xx answer as KS_BMC_FAILED with a fix matched to the status. */
export function httpFailure(res: RedfishResponse, req: RedfishRequest, op: string): KickstandError {
  const detail = redfishErrorText(res.body);
  const where = `Redfish ${req.method} ${req.path}`;
  const suffix = detail ? `: ${detail}` : '';
  switch (res.status) {
    case 401:
      return new KickstandError(
        ErrorCode.BMC_FAILED,
        `${op}: the BMC refused the user name or password (HTTP 401 from ${where})`,
        {
          fix: "check this host's BMC username and password",
        },
      );
    case 403:
      return new KickstandError(
        ErrorCode.BMC_FAILED,
        `${op}: the BMC account lacks the privilege (HTTP 403 from ${where})${suffix}`,
        {
          fix: 'give the BMC account the ConfigureComponents privilege (the Redfish Operator role)',
        },
      );
    case 404:
      return new KickstandError(ErrorCode.BMC_FAILED, `${op}: not found (HTTP 404 from ${where})${suffix}`, {
        fix: 'check systemId against GET /redfish/v1/Systems on the BMC',
      });
    default:
      return new KickstandError(ErrorCode.BMC_FAILED, `${op}: HTTP ${res.status} from ${where}${suffix}`, {
        fix: 'see the Redfish message above; the BMC refused the request',
      });
  }
}
