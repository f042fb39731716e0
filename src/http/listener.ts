/**
 * @module http/listener
 * What the machine listener (http/server.ts) and the API listener (http/api-server.ts) share:
 * their timeouts and how they stop.
 */
import type { Server } from 'node:http';

/**
 * Headers within 20 s (a client that never finishes its headers is dropped), a whole request
 * within 5 min (a 64 MiB initrd on a slow link fits), idle keep-alive closed after 5 s.
 */
export const LISTENER_TIMEOUTS = { headersTimeout: 20_000, requestTimeout: 300_000, keepAliveTimeout: 5_000 };

/**
 * Stops accepting, closes idle connections at once and lets requests in flight finish for up
 * to `graceMs` before their connections are closed; resolves when the server has closed.
 */
export function closeGracefully(server: Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const force = setTimeout(() => server.closeAllConnections(), graceMs);
    force.unref();
    server.close(() => {
      clearTimeout(force);
      resolve();
    });
    server.closeIdleConnections();
  });
}
