/**
 * @module http/boot/render-api
 * GET /api/v1/hosts/:name/render?kind=ipxe|kickstart[&showSecrets=1] — the dry run behind
 * `kickstand host render`: exactly what the host would get now, with no side effect (no
 * token issued, no event, no fetch recorded). The install token and secret vars (root hash,
 * passwords) are masked unless showSecrets=1.
 */
import { Router } from 'express';
import { ErrorCode, invalid } from '../../errors';
import type { BootDeps } from './deps';
import { decideScript } from '../../boot/policy';
import { hostScriptText } from './scripts';

export const MASK = '********';
/** Shown in URLs when the host has no live token: one is issued when it is armed / boots. */
export const NO_TOKEN = 'TOKEN-ISSUED-AT-BOOT';

export interface RenderReply {
  host: string;
  kind: 'ipxe' | 'kickstart';
  state: string;
  masked: boolean;
  /** One line for the operator (printed on stderr by the CLI), or null. */
  note: string | null;
  text: string;
}

export function renderApiRouter(deps: BootDeps): Router {
  const r = Router();

  r.get('/hosts/:name/render', async (req, res) => {
    const kind = req.query.kind ?? 'kickstart';
    if (kind !== 'ipxe' && kind !== 'kickstart')
      throw invalid(
        ErrorCode.INVALID_INPUT,
        'kind',
        `kind must be ipxe or kickstart, not ${JSON.stringify(kind)}`,
        'use ?kind=ipxe or ?kind=kickstart',
      );
    const show = req.query.showSecrets === '1' || req.query.showSecrets === 'true';
    const host = await deps.registry.require(String(req.params.name));
    const token = await deps.tokens.liveFor(host.name);
    const tokenText = token ? (show ? token.token : MASK) : NO_TOKEN;
    const reply: RenderReply = { host: host.name, kind, state: host.state, masked: !show, note: null, text: '' };
    const cfg = deps.config();
    const d = decideScript(host, token, cfg);
    if (kind === 'ipxe') {
      reply.text = hostScriptText(d, {
        host,
        mac: host.macs[0]!,
        tokenText,
        publicUrl: cfg.publicUrl,
        renderer: deps.renderer,
      });
      if (d.kind === 'install' && !token)
        reply.note = 'no live install token yet: one is issued when the machine fetches its script';
    } else {
      reply.text = await deps.renderer.render(host, tokenText, { mask: !show });
      if (d.kind === 'local')
        reply.note = `${host.name} would not be served this kickstart now (${d.reason}); shown as it would render`;
    }
    res.json(reply);
  });

  return r;
}
