/**
 * @module http/api/bootstrap
 * /api/v1 routes of the SSH bootstrapper:
 *   POST /hosts/:name/bootstrap   queue a plan run (202); `?wait=true` answers with the result
 *   GET  /mesh                    mesh members (addresses, public keys; never a private key)
 *   GET  /inventory?format=…      Ansible inventory: ini | yaml (static), json (dynamic)
 * The cluster token is never part of any answer.
 */
import { Router } from 'express';
import type { Bootstrapper } from '../../bootstrap/runner';
import { ErrorCode, invalid } from '../../errors';
import type { HostRegistry } from '../../hosts/registry';
import { inventoryFor, INVENTORY_FORMATS, type InventoryFormat } from '../../inventory/build';
import type { Store } from '../../store/store';

export interface BootstrapApiDeps {
  bootstrapper: Bootstrapper;
  registry: HostRegistry;
  store: Store;
  sshUser: () => string;
}

export function bootstrapRouter(deps: BootstrapApiDeps): Router {
  const r = Router();

  r.post('/hosts/:name/bootstrap', async (req, res) => {
    const { done } = await deps.bootstrapper.request(req.params.name, 'requested through the API');
    if (req.query.wait === 'true') {
      res.json(await done);
      return;
    }
    done.catch(() => undefined);
    res.status(202).location(`/api/v1/hosts/${req.params.name}`).json({ host: req.params.name, queued: true });
  });

  r.get('/mesh', async (_req, res) => {
    res.json({ members: await deps.store.mesh.list() });
  });

  r.get('/inventory', async (req, res) => {
    const f = (req.query.format ?? 'json') as string;
    if (!INVENTORY_FORMATS.includes(f as InventoryFormat)) {
      throw invalid(
        ErrorCode.INVALID_INPUT,
        'format',
        `unknown inventory format ${JSON.stringify(f)}`,
        `use one of: ${INVENTORY_FORMATS.join(', ')}`,
      );
    }
    const text = await inventoryFor(f as InventoryFormat, {
      registry: deps.registry,
      store: deps.store,
      connector: deps.bootstrapper.connector,
      sshUser: deps.sshUser(),
    });
    res.type(f === 'json' ? 'application/json' : f === 'yaml' ? 'application/yaml' : 'text/plain').send(text);
  });

  return r;
}
