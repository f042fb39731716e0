/**
 * @module http/api/lifecycle
 * /api/v1 routes for rebuilds and BMCs:
 *   POST   /hosts/:name/reimage   {powerCycle?}                 → the re-armed Host
 *   POST   /rollouts              {role, maxUnavailable?, powerCycle?, timeoutSeconds?} → 202 RolloutStatus
 *   GET    /rollouts                                            → {rollouts: RolloutStatus[]}, newest first
 *   GET    /rollouts/:id                                        → RolloutStatus
 *   (rollouts are read from the store: any daemon on it lists every rollout; docs/api.md "Rolling rebuilds")
 *   GET    /hosts/:name/bmc                                     → BMC settings without the password
 *   PUT    /hosts/:name/bmc       BmcConfig                     → same, after validation
 *   DELETE /hosts/:name/bmc
 *   POST   /hosts/:name/power     {action: on|off|cycle|reset|soft|status} → {status}
 */
import { Router } from 'express';
import { ErrorCode, KickstandError, invalid } from '../../errors';
import { POWER_ACTIONS, type BmcClient, type PowerAction } from '../../bmc/types';
import type { BmcConfig } from '../../model/bmc-settings';
import { publicBmcConfig, validateBmcConfig } from '../../bmc/config';
import type { HostRegistry } from '../../hosts/registry';
import { KEEP_FINISHED, type Rollouts } from '../../hosts/rollout';
import type { Host } from '../../model/host';
import type { Store } from '../../store/store';

export interface LifecycleApiDeps {
  registry: HostRegistry;
  store: Store;
  rollouts: Rollouts;
  reimage: (name: string, opts: { powerCycle: boolean }) => Promise<Host>;
  bmcClient: (cfg: BmcConfig) => BmcClient;
}

const flag = (v: unknown, field: string): boolean => {
  if (v === undefined) return false;
  if (typeof v === 'boolean') return v;
  throw invalid(ErrorCode.INVALID_INPUT, field, `${field} must be true or false`, `e.g. {"${field}": true}`);
};

const positiveInt = (v: unknown, field: string, dflt: number): number => {
  if (v === undefined) return dflt;
  if (typeof v === 'number' && Number.isInteger(v) && v >= 1) return v;
  throw invalid(ErrorCode.INVALID_INPUT, field, `${field} must be a whole number ≥ 1`, `e.g. {"${field}": ${dflt}}`);
};

const isPowerAction = (v: unknown): v is PowerAction => POWER_ACTIONS.includes(v as PowerAction);

export function lifecycleRouter(deps: LifecycleApiDeps): Router {
  const r = Router();

  r.post('/hosts/:name/reimage', async (req, res) => {
    const body = (req.body ?? {}) as { powerCycle?: unknown };
    res.json(await deps.reimage(req.params.name, { powerCycle: flag(body.powerCycle, 'powerCycle') }));
  });

  r.post('/rollouts', async (req, res) => {
    const b = (req.body ?? {}) as Record<string, unknown>;
    if (typeof b.role !== 'string' || b.role === '')
      throw invalid(ErrorCode.INVALID_INPUT, 'role', 'role is required', 'e.g. {"role": "agent"}');
    const hosts = (await deps.registry.list()).filter((h) => h.role === b.role);
    if (hosts.length === 0)
      throw invalid(
        ErrorCode.INVALID_INPUT,
        'role',
        `no host has role ${JSON.stringify(b.role)}`,
        'check the roles with kickstand host list',
      );
    const status = await deps.rollouts.start({
      role: b.role,
      maxUnavailable: positiveInt(b.maxUnavailable, 'maxUnavailable', 1),
      powerCycle: flag(b.powerCycle, 'powerCycle'),
      timeoutMs: positiveInt(b.timeoutSeconds, 'timeoutSeconds', 3 * 3600) * 1000,
    });
    res.status(202).location(`/api/v1/rollouts/${status.id}`).json(status);
  });

  r.get('/rollouts', async (_req, res) => {
    res.json({ rollouts: await deps.rollouts.list() });
  });

  r.get('/rollouts/:id', async (req, res) => {
    const s = await deps.rollouts.get(req.params.id);
    if (!s)
      throw new KickstandError(
        ErrorCode.NOT_FOUND,
        `no rollout ${req.params.id} (running rollouts and the newest ${KEEP_FINISHED} finished ones are kept)`,
        { fix: 'list them with GET /api/v1/rollouts' },
      );
    res.json(s);
  });

  r.get('/hosts/:name/bmc', async (req, res) => {
    await deps.registry.require(req.params.name);
    const cfg = await deps.store.bmc.get(req.params.name);
    if (!cfg)
      throw new KickstandError(ErrorCode.NOT_FOUND, `host ${req.params.name} has no BMC configured`, {
        fix: `kickstand host bmc ${req.params.name} --type ipmi --address … --user …`,
      });
    res.json(publicBmcConfig(cfg));
  });

  r.put('/hosts/:name/bmc', async (req, res) => {
    await deps.registry.require(req.params.name);
    const cfg = validateBmcConfig((req.body ?? {}) as BmcConfig);
    await deps.store.bmc.set(req.params.name, cfg);
    await deps.store.events.append({
      host: req.params.name,
      kind: 'bmc.configured',
      message: `BMC set: ${cfg.type} at ${cfg.address} as ${cfg.username}`,
    });
    res.json(publicBmcConfig(cfg));
  });

  r.delete('/hosts/:name/bmc', async (req, res) => {
    await deps.registry.require(req.params.name);
    await deps.store.bmc.delete(req.params.name);
    res.status(204).end();
  });

  r.post('/hosts/:name/power', async (req, res) => {
    const name = req.params.name;
    await deps.registry.require(name);
    const action = ((req.body ?? {}) as { action?: unknown }).action;
    if (action !== 'status' && !isPowerAction(action)) {
      throw invalid(
        ErrorCode.INVALID_INPUT,
        'action',
        `unknown power action ${JSON.stringify(action)}`,
        `use one of: ${[...POWER_ACTIONS, 'status'].join(', ')}`,
      );
    }
    const cfg = await deps.store.bmc.get(name);
    if (!cfg)
      throw invalid(
        ErrorCode.INVALID_INPUT,
        'bmc',
        `host ${name} has no BMC configured`,
        `kickstand host bmc ${name} --type ipmi --address … --user …`,
      );
    const client = deps.bmcClient(cfg);
    if (action !== 'status') {
      await client.power(action);
      await deps.store.events.append({ host: name, kind: 'bmc.command', message: `power ${action}` });
    }
    res.json({ status: await client.status() });
  });

  return r;
}
