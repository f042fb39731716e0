/**
 * @module daemon/tftp
 * The TFTP service over imagesDir, one listening socket per address clients use (default:
 * network.address), with the data phase the daemon chose (daemon/fast-paths.ts) and the GRUB
 * chain's per-machine configs answered before the files (install/grub-files.ts).
 */
import { existsSync } from 'node:fs';
import type { Registry } from 'prom-client';
import type { Config } from '../config/schema';
import { ErrorCode, KickstandError } from '../errors';
import { recordFileEvent } from '../hosts/timeline-bridge';
import type { Service } from '../lifecycle';
import type { Logger } from '../log';
import type { Store } from '../store/store';
import { createFileHandler } from '../tftp/files';
import { createTftpServer } from '../tftp/server';
import type { TftpHandler } from '../tftp/types';
import type { FastPaths } from './fast-paths';

/** `wrap`: answers some names before the files (the GRUB chain's configs, daemon/install.ts). */
export function tftpService(
  config: Config,
  store: Store,
  log: Logger,
  metrics: Registry,
  fast: FastPaths,
  wrap: (files: TftpHandler) => TftpHandler = (files) => files,
): Service {
  if (!existsSync(config.imagesDir)) {
    throw new KickstandError(ErrorCode.CONFIG_INVALID, `imagesDir ${config.imagesDir} does not exist`, {
      field: 'imagesDir',
      fix: 'create it and fill it with `kickstand images sync` (see images/README.md), or set tftp.enabled: false',
    });
  }
  const tftpConfig = {
    ...config.tftp,
    listen: config.tftp.listen.length > 0 ? config.tftp.listen : [config.network.address],
  };
  const record = recordFileEvent(store, log);
  const tftp = createTftpServer({
    config: tftpConfig,
    handler: wrap(createFileHandler(config.imagesDir, fast.tftpFiles)),
    dataPhase: fast.tftpDataPhase,
    log,
    metrics,
    onEvent: (e) => record({ kind: e.kind, address: e.client.address, path: e.path, message: e.message, data: e.data }),
  });
  return { name: 'tftp', start: () => tftp.start(), stop: () => tftp.stop() };
}
