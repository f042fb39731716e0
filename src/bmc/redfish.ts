/**
 * @module bmc/redfish
 * Redfish BMC client (DMTF DSP0266 protocol, DSP2046 schema guide: ComputerSystem).
 * - one-time PXE: PATCH the ComputerSystem with
 *   `{"Boot":{"BootSourceOverrideTarget":"Pxe","BootSourceOverrideEnabled":"Once"}}`,
 *   sending `If-Match` with the ETag from the GET just before it (DSP0266 "ETags"); a 412
 *   (someone changed the system meanwhile) re-reads and retries once.
 * - power: POST `{"ResetType": …}` to the `#ComputerSystem.Reset` action target, the type picked
 *   from the advertised AllowableValues (bmc/reset-type.ts).
 * - status: `PowerState` of the ComputerSystem.
 * Authentication is HTTP Basic on every request rather than a SessionService session: no session
 * to leak when a run is killed (BMCs have few session slots), one request per step.
 */
import { ErrorCode, KickstandError } from '../errors';
import type { Logger } from '../log';
import { parseBmcAddress } from './config';
import {
  createRedfishTransport,
  type RedfishRequest,
  type RedfishResponse,
  type RedfishTransport,
} from './redfish-http';
import {
  actionInfoAllowed,
  httpFailure,
  isObject,
  memberPaths,
  resetAction,
  stringArray,
  type Json,
} from './redfish-resource';
import { pickResetType } from './reset-type';
import type { BmcConfig } from '../model/bmc-settings';
import type { BmcClient, PowerAction, PowerStatus } from './types';

export interface RedfishClientOptions {
  log: Logger;
  timeoutMs: number;
}

interface SystemRead {
  path: string;
  etag: string | undefined;
  body: Json;
}

const SYSTEMS = '/redfish/v1/Systems';

export function createRedfishClient(cfg: BmcConfig, opts: RedfishClientOptions): BmcClient {
  return new RedfishClient(cfg, opts);
}

class RedfishClient implements BmcClient {
  private readonly send: RedfishTransport;
  private readonly log: Logger;
  private systemPath: string | undefined;

  constructor(
    private readonly cfg: BmcConfig,
    opts: RedfishClientOptions,
  ) {
    const endpoint = parseBmcAddress(cfg.address, 'redfish');
    this.log = opts.log;
    if (endpoint.scheme === 'http')
      this.log.warn({ bmcAddress: cfg.address }, 'redfish over plain http sends the BMC password in clear text');
    this.send = createRedfishTransport({
      endpoint,
      username: cfg.username,
      password: cfg.password,
      insecureTls: cfg.insecureTls === true,
      timeoutMs: opts.timeoutMs,
      log: this.log,
    });
    if (cfg.systemId !== undefined) this.systemPath = `${SYSTEMS}/${encodeURIComponent(cfg.systemId)}`;
  }

  async bootOncePxe(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const sys = await this.readSystem('set one-time PXE boot');
      const req: RedfishRequest = { method: 'PATCH', path: sys.path, body: this.bootPatch(sys) };
      if (sys.etag !== undefined) req.ifMatch = sys.etag;
      const res = await this.send(req);
      if (res.status === 412 && attempt === 0) {
        this.log.info({ path: sys.path }, 'redfish system changed since it was read; retrying once');
        continue;
      }
      if (res.status < 200 || res.status > 299) throw httpFailure(res, req, 'set one-time PXE boot');
      return;
    }
  }

  async power(action: PowerAction): Promise<void> {
    const op = `power ${action}`;
    const sys = await this.readSystem(op);
    const { target, allowed } = await this.allowedResetTypes(sys);
    const resetType = pickResetType(action, allowed);
    this.log.debug({ action, resetType }, 'redfish reset');
    await this.ok({ method: 'POST', path: target, body: { ResetType: resetType } }, op);
  }

  async status(): Promise<PowerStatus> {
    const sys = await this.readSystem('read power state');
    // PowerState (Resource.PowerState): On, Off, PoweringOn, PoweringOff, Paused.
    const state = sys.body.PowerState;
    return state === 'On' ? 'on' : state === 'Off' ? 'off' : 'unknown';
  }

  private async ok(req: RedfishRequest, op: string): Promise<RedfishResponse> {
    const res = await this.send(req);
    if (res.status < 200 || res.status > 299) throw httpFailure(res, req, op);
    return res;
  }

  /** The one ComputerSystem (or systemId's): DSP0266 "Service root" → Systems collection. */
  private async findSystem(): Promise<string> {
    if (this.systemPath !== undefined) return this.systemPath;
    const res = await this.ok({ method: 'GET', path: SYSTEMS }, 'find the Redfish system');
    const paths = memberPaths(res.body);
    if (paths.length !== 1) {
      const ids = paths.map((p) => p.slice(p.lastIndexOf('/') + 1));
      throw new KickstandError(
        ErrorCode.BMC_FAILED,
        `the BMC has ${paths.length} systems${ids.length ? ` (${ids.join(', ')})` : ''}; cannot pick one`,
        {
          fix: ids.length
            ? `set systemId to one of: ${ids.join(', ')}`
            : 'check that the address is the BMC of this host',
        },
      );
    }
    this.systemPath = paths[0]!;
    return this.systemPath;
  }

  private async readSystem(op: string): Promise<SystemRead> {
    const path = await this.findSystem();
    const res = await this.ok({ method: 'GET', path }, op);
    if (!isObject(res.body))
      throw new KickstandError(ErrorCode.BMC_FAILED, `${op}: ${path} did not return a JSON object`, {
        fix: 'check that the address is a Redfish service',
      });
    const bodyTag = res.body['@odata.etag'];
    return { path, etag: res.etag ?? (typeof bodyTag === 'string' ? bodyTag : undefined), body: res.body };
  }

  private bootPatch(sys: SystemRead): Json {
    const boot = isObject(sys.body.Boot) ? sys.body.Boot : undefined;
    if (boot === undefined) {
      throw new KickstandError(ErrorCode.BMC_FAILED, `the Redfish system ${sys.path} has no Boot property`, {
        fix: 'check systemId; this resource cannot set a boot override',
      });
    }
    const targets = stringArray(boot['BootSourceOverrideTarget@Redfish.AllowableValues']);
    if (targets !== undefined && !targets.includes('Pxe')) {
      throw new KickstandError(
        ErrorCode.BMC_FAILED,
        `the BMC does not offer a PXE boot override (it allows ${targets.join(', ')})`,
        { fix: 'enable network boot (PXE) in the firmware setup' },
      );
    }
    const patch: Json = { BootSourceOverrideTarget: 'Pxe', BootSourceOverrideEnabled: 'Once' };
    if (this.cfg.efiBoot === true) {
      const modes = stringArray(boot['BootSourceOverrideMode@Redfish.AllowableValues']);
      // Some BMCs (Supermicro X10) reject UEFI here: only send it when the system has the property and allows it.
      if ('BootSourceOverrideMode' in boot && (modes === undefined || modes.includes('UEFI'))) {
        if (boot.BootSourceOverrideMode !== 'UEFI') patch.BootSourceOverrideMode = 'UEFI';
      } else {
        this.log.warn({ path: sys.path }, 'redfish system has no UEFI boot override mode; keeping its current mode');
      }
    }
    return { Boot: patch };
  }

  private async allowedResetTypes(sys: SystemRead): Promise<{ target: string; allowed: string[] | undefined }> {
    const action = resetAction(sys.body, sys.path);
    if (action.allowed !== undefined || action.actionInfo === undefined) return action;
    const res = await this.send({ method: 'GET', path: action.actionInfo });
    if (res.status < 200 || res.status > 299) {
      this.log.debug(
        { path: action.actionInfo, status: res.status },
        'redfish ActionInfo unreadable; sending the preferred ResetType',
      );
      return { target: action.target, allowed: undefined };
    }
    return { target: action.target, allowed: actionInfoAllowed(res.body, 'ResetType') };
  }
}
