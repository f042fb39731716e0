/**
 * @module daemon/fast-paths
 * The native fast paths (src/native), chosen once when the daemon is built and handed to the
 * services that use them: sendfile(2) for /images bodies (http/assets/sendfile.ts) and the TFTP
 * data phase on threads (tftp/native-session.ts). Without the addon (not built, or
 * KICKSTAND_NATIVE=off) both services run their JavaScript paths.
 */
import { createSendfile, type Sendfile } from '../http/assets/sendfile';
import type { Logger } from '../log';
import type { NativeBinding, NativeStatus } from '../native';
import type { NativeTftp } from '../native/tftp-types';
import type { FileHandlerOptions } from '../tftp/files';

export interface FastPaths {
  /** sendfile(2) for /images bodies; null: copied through user space (http/assets/pump.ts). */
  sendfile: Sendfile | null;
  /** The TFTP data phase on native threads; null: every transfer on the JavaScript session. */
  tftpDataPhase: NativeTftp | null;
  /** How the TFTP file handler caches files: it follows the data-phase choice. */
  tftpFiles: FileHandlerOptions;
}

export function chooseFastPaths(addon: NativeBinding | null): FastPaths {
  if (addon === null) return { sendfile: null, tftpDataPhase: null, tftpFiles: {} };
  return {
    sendfile: createSendfile(addon),
    tftpDataPhase: addon,
    // With the native data phase, files are read with pread from the page cache on the transfer's
    // thread; an in-memory copy would only send loaders down the slower JS path (buffers stay there).
    tftpFiles: { cacheFileBytes: 0 },
  };
}

/** Says once whether sendfile(2) and the native TFTP data phase are in use. */
export function logNativeStatus(log: Logger, st: NativeStatus): void {
  if (st.loaded)
    log.info({ file: st.file }, 'native fast paths loaded: sendfile for /images, TFTP data phase on threads');
  else
    log.warn(
      { reason: st.reason },
      'native fast paths unavailable: /images and TFTP use the slower JavaScript paths (fix: build with a C toolchain, npm rebuild kickstand)',
    );
}
