/**
 * @module images/sha256sums
 * The `sha256sum` list format (GNU coreutils `sha256sum`, what a k3s release publishes as
 * `sha256sum-<arch>.txt`): one `<64 hex digits><space><space or *><file name>` per line, the
 * `*` marking binary mode. A line starting with `\` has an escaped name (a backslash or newline
 * in it); release asset names never have one, so such lines are refused rather than guessed.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { ErrorCode, KickstandError } from '../errors';

const LINE = /^([0-9a-fA-F]{64}) [ *](.+)$/;

/** Parses a sha256sum list into file name → lower-case hex digest. */
export function parseSha256Sums(text: string, source: string): Map<string, string> {
  const out = new Map<string, string>();
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '') return;
    const m = LINE.exec(line);
    if (!m) {
      throw new KickstandError(
        ErrorCode.BUNDLE_INCOMPLETE,
        `${source} line ${i + 1} is not a sha256sum line ("<64 hex>  <file>"): ${JSON.stringify(line.slice(0, 120))}`,
        {
          fix: `download ${source} again from the release page`,
        },
      );
    }
    out.set(m[2]!, m[1]!.toLowerCase());
  });
  return out;
}

/** SHA-256 of a file, streamed (an images tarball is hundreds of MB). */
export function sha256File(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(file)
      .on('error', reject)
      .on('data', (c) => h.update(c))
      .on('end', () => resolve(h.digest('hex')));
  });
}
