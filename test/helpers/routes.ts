/**
 * The routes of an express app's router table under /api/v1, read from the app itself (not a
 * list the tests keep), so a route added later is checked too (test/http/api.test.ts,
 * test/http/listeners.test.ts).
 */
import type { Express } from 'express';

interface RouteRef {
  method: string;
  path: string;
}

/** The parts of an Express (router 2.x) layer the walk reads. */
interface Layer {
  route?: { path: string; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
  rawPath?: string;
}

/** Every route reachable under /api/v1, read from the app's router table (not a list we keep). */
export function apiRoutes(app: Express): RouteRef[] {
  const out: RouteRef[] = [];
  const walk = (stack: Layer[], prefix: string): void => {
    for (const layer of stack) {
      if (layer.route) {
        for (const m of Object.keys(layer.route.methods))
          if (m !== '_all') out.push({ method: m.toUpperCase(), path: prefix + layer.route.path });
      } else if (layer.handle?.stack) {
        const p = layer.rawPath && layer.rawPath !== '/' ? layer.rawPath : '';
        walk(layer.handle.stack, prefix + p);
      }
    }
  };
  const root = (app as unknown as { router: { stack: Layer[] } }).router.stack;
  for (const layer of root) if (layer.handle?.stack && layer.rawPath === '/api/v1') walk(layer.handle.stack, '/api/v1');
  return out;
}
