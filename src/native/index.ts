/**
 * @module native
 * Loads the optional native fast paths (`native/`, built by `npm ci` through binding.gyp):
 * sendfile(2) for HTTP boot assets and the TFTP data phase on a thread per transfer. When the
 * addon is missing or disabled (`KICKSTAND_NATIVE=off`), callers use their JavaScript paths;
 * `nativeStatus()` says which and why, and `serve` logs it once at start.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { NativeSendfile } from './sendfile-types';
import type { NativeTftp } from './tftp-types';

export type NativeBinding = NativeSendfile & NativeTftp;

export interface NativeStatus {
  loaded: boolean;
  /** Why not loaded: disabled by the environment, not built, or failed to load. */
  reason?: string;
  file?: string;
}

let cached: { binding: NativeBinding | null; status: NativeStatus } | undefined;

/** The package root: the nearest ancestor with kickstand's package.json (src/ and dist/src/ alike). */
function packageRoot(): string | null {
  let dir = __dirname;
  for (;;) {
    const pj = path.join(dir, 'package.json');
    if (existsSync(pj)) {
      try {
        if ((JSON.parse(readFileSync(pj, 'utf8')) as { name?: string }).name === 'kickstand') return dir;
      } catch {
        /* not ours */
      }
    }
    const up = path.dirname(dir);
    if (up === dir) return null;
    dir = up;
  }
}

function load(): { binding: NativeBinding | null; status: NativeStatus } {
  const env = (process.env.KICKSTAND_NATIVE ?? '').toLowerCase();
  if (env === 'off' || env === '0' || env === 'false')
    return { binding: null, status: { loaded: false, reason: 'disabled by KICKSTAND_NATIVE=off' } };
  const root = packageRoot();
  if (!root) return { binding: null, status: { loaded: false, reason: 'package root not found' } };
  const file = path.join(root, 'build', 'Release', 'kickstand_native.node');
  if (!existsSync(file))
    return {
      binding: null,
      status: {
        loaded: false,
        reason: `not built (${file} missing; run npm rebuild kickstand with a C toolchain)`,
        file,
      },
    };
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const binding = require(file) as NativeBinding;
    return { binding, status: { loaded: true, file } };
  } catch (e) {
    return { binding: null, status: { loaded: false, reason: `failed to load: ${(e as Error).message}`, file } };
  }
}

/** The addon, or null when the JavaScript paths must be used. Loaded once. */
export function native(): NativeBinding | null {
  cached ??= load();
  return cached.binding;
}

export function nativeStatus(): NativeStatus {
  cached ??= load();
  return cached.status;
}
