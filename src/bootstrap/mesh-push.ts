/**
 * @module bootstrap/mesh-push
 * How a mesh peer update reaches a member (mesh/sync.ts MemberPush): a pinned SSH session
 * (connect.ts), the same apply command as the member's own mesh.config step (wireguard.ts),
 * bounded by `bootstrap.stepTimeoutMs`.
 */
import type { BootstrapConfig } from '../config/sections/bootstrap';
import type { MemberPush } from '../mesh/sync';
import type { NodeConnector } from './connect';
import { parseKv } from './shell';
import { meshSettings } from './steps';
import { applyCommand } from './wireguard';

export function meshPush(connector: NodeConnector, config: () => BootstrapConfig): MemberPush {
  return async (host, self, members) => {
    const session = await connector.open(host);
    try {
      const { command, stdin } = applyCommand(self, members, meshSettings(config()));
      const r = await session.exec(command, { stdin, timeoutMs: config().stepTimeoutMs });
      if (r.code !== 0) throw new Error(`apply exited with ${r.code}: ${r.stderr.trim().split('\n').pop() ?? ''}`);
      return parseKv(r.stdout).changed === '1';
    } finally {
      session.close();
    }
  };
}
