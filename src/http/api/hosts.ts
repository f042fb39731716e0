/**
 * @module http/api/hosts
 * /api/v1/hosts — the host registry (CRUD, bulk import), each host's timeline and the DHCP
 * leases its MACs hold (the newest of each MAC, any state).
 */
import { Router } from 'express';
import { ErrorCode, invalid } from '../../errors';
import { importHosts } from '../../hosts/import';
import type { HostInput, HostRegistry } from '../../hosts/registry';
import type { Store } from '../../store/store';
import { eventQuery } from './events';

export function hostsRouter(deps: { registry: HostRegistry; store: Store }): Router {
  const r = Router();
  const { registry, store } = deps;

  r.get('/hosts', async (_req, res) => {
    res.json({ hosts: await registry.list() });
  });

  r.post('/hosts', async (req, res) => {
    const host = await registry.add((req.body ?? {}) as HostInput);
    res.status(201).location(`/api/v1/hosts/${host.name}`).json(host);
  });

  // Before /hosts/:name routes; its own body limit is set in http/app.ts.
  r.post('/hosts/import', async (req, res) => {
    const b = (req.body ?? {}) as { hosts?: unknown; dryRun?: unknown };
    if (b.dryRun !== undefined && typeof b.dryRun !== 'boolean')
      throw invalid(ErrorCode.INVALID_INPUT, 'dryRun', 'dryRun must be true or false', 'e.g. {"dryRun": true}');
    res.json(await importHosts(registry, b.hosts, { dryRun: b.dryRun === true }));
  });

  r.get('/hosts/:name', async (req, res) => {
    res.json(await registry.require(req.params.name));
  });

  r.patch('/hosts/:name', async (req, res) => {
    res.json(await registry.update(req.params.name, (req.body ?? {}) as HostInput));
  });

  r.delete('/hosts/:name', async (req, res) => {
    await registry.remove(req.params.name);
    res.status(204).end();
  });

  r.get('/hosts/:name/events', async (req, res) => {
    await registry.require(req.params.name);
    res.json({ events: await store.events.list({ ...eventQuery(req.query), host: req.params.name }) });
  });

  r.get('/hosts/:name/leases', async (req, res) => {
    const host = await registry.require(req.params.name);
    const leases = await Promise.all(host.macs.map((m) => store.leases.findByMac(m)));
    res.json({ leases: leases.filter((l) => l !== undefined) });
  });

  return r;
}
