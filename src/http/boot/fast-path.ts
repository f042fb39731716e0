/**
 * @module http/boot/fast-path
 * The boot scripts and kickstarts on the HTTP server's fast path (src/http/server.ts
 * dispatch), as /images/ is: a boot storm asks for them once per machine each, and express's
 * routing and `res.send` were half of the script route's CPU (bench/RESULTS.md, boot storm
 * profile). Only the canonical forms are taken here — GET or HEAD of `/boot.ipxe`,
 * `/ipxe/<mac>`, `/ks/<token>` with one path segment that needs no decoding, any query —
 * and each runs the same handler the express route runs, with the same request log line and
 * error reply. Anything else (another method, `%`-encoding, a trailing `/`, other case) is left
 * to express, whose routes call the same handlers, so every request answers as before.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../log';
import { replyError } from '../errors';
import { logRequest } from '../request-log';
import type { FastPath } from '../server';
import type { IpxeHandlers } from './ipxe-routes';
import type { KickstartHandler } from './kickstart-routes';

/** One path segment as express would hand it over after decoding: nothing to decode, no `/`. */
const PLAIN_SEGMENT = /^[^/%]+$/;

type Run = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

/** The route for `path` (the URL without its query), or undefined to leave it to express. */
function route(path: string, ipxe: IpxeHandlers, ks: KickstartHandler): Run | undefined {
  if (path === '/boot.ipxe') return (req, res) => ipxe.chain(req, res);
  const seg = (prefix: string): string | undefined => {
    const s = path.slice(prefix.length);
    return path.startsWith(prefix) && PLAIN_SEGMENT.test(s) ? s : undefined;
  };
  const mac = seg('/ipxe/');
  if (mac !== undefined) return (req, res) => ipxe.script(req, res, mac);
  const token = seg('/ks/');
  if (token !== undefined) return (req, res) => ks(req, res, token);
  return undefined;
}

/** `log`: the machine app's HTTP logger (request lines, errors), as express's. */
export function bootFastPaths(ipxe: IpxeHandlers, ks: KickstartHandler, log: Logger): FastPath[] {
  const handle = (req: IncomingMessage, res: ServerResponse): boolean => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const run = route(path, ipxe, ks);
    if (run === undefined) return false;
    logRequest(log, req, res, url);
    run(req, res).catch((err: unknown) => replyError(log, err, req, res, path));
    return true;
  };
  return ['/boot.ipxe', '/ipxe/', '/ks/'].map((prefix) => ({ prefix, handle }));
}
