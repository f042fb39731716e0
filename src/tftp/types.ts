/**
 * @module tftp/types
 * The TFTP service's public types: what a content handler receives and returns, and the events
 * the server reports. The daemon maps `client.address` to a host (via leases) and appends the
 * event to that host's timeline.
 */
import type { FileHandle } from 'node:fs/promises';

/** Who asked: the client's transfer id and the local address its RRQ was sent to. */
export interface TftpClient {
  address: string;
  port: number;
  localAddress: string;
}

/**
 * Content to serve. `size` is exact (it goes into the `tsize` option and decides the last block).
 * - `buffer`: in memory (generated files, cached loaders).
 * - `file`: an open FileHandle, read at random offsets with `readv` straight into the packet ring
 *   (the fast path for large files). The server owns it from then on and closes it.
 * - `stream`: any readable, copied in with back-pressure; `dispose` (optional) is called if the
 *   transfer ends before `stream()` was ever called, so a handler can free what it opened.
 */
export type TftpContent =
  | { size: number; buffer: Buffer }
  | { size: number; file: FileHandle }
  | { size: number; stream: () => NodeJS.ReadableStream; dispose?: () => void };

/** Resolves a requested path. Throws KickstandError PATH_REFUSED (ERROR 2) or NOT_FOUND (ERROR 1). */
export type TftpHandler = (path: string, client: TftpClient) => Promise<TftpContent>;

export type TftpEventKind = 'tftp.start' | 'tftp.done' | 'tftp.failed' | 'tftp.refused';

export interface TftpEvent {
  kind: TftpEventKind;
  client: TftpClient;
  /** Requested path, made printable and truncated (it comes from the wire). */
  path: string;
  message: string;
  data: Record<string, unknown>;
}
