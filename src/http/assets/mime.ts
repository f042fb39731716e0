/**
 * @module http/assets/mime
 * Content-Type for boot assets. Firmware ignores it, but browsers, curl users and caches do
 * not: nothing under images/ is ever served as HTML or script (a stored-XSS vector), and
 * unknown files are `application/octet-stream`. Sent with `X-Content-Type-Options: nosniff`.
 */
import path from 'node:path';

const TYPES: Readonly<Record<string, string>> = {
  // loaders and kernels (binary; iPXE and UEFI ignore the type)
  '.efi': 'application/efi', // IANA-registered (RFC 4578 era PXE/UEFI images)
  '.kpxe': 'application/octet-stream',
  '.kkpxe': 'application/octet-stream',
  '.pxe': 'application/octet-stream',
  '.lkrn': 'application/octet-stream',
  '.img': 'application/octet-stream',
  '.bin': 'application/octet-stream',
  '.squashfs': 'application/octet-stream',
  '.iso': 'application/x-iso9660-image',
  '.rpm': 'application/x-rpm',
  '.deb': 'application/vnd.debian.binary-package',
  // compressed payloads (no Content-Encoding: the bytes are the representation)
  '.gz': 'application/gzip',
  '.xz': 'application/x-xz',
  '.zst': 'application/zstd',
  '.zck': 'application/octet-stream',
  '.bz2': 'application/x-bzip2',
  '.cpio': 'application/x-cpio',
  // scripts and metadata: text, never executable content for a browser
  '.ipxe': 'text/plain; charset=utf-8',
  '.cfg': 'text/plain; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/plain; charset=utf-8',
  '.treeinfo': 'text/plain; charset=utf-8',
  '.discinfo': 'text/plain; charset=utf-8',
  '.asc': 'text/plain; charset=utf-8',
  '.sig': 'application/octet-stream',
  '.xml': 'application/xml',
  '.json': 'application/json',
  '.html': 'text/plain; charset=utf-8',
  '.htm': 'text/plain; charset=utf-8',
  '.js': 'text/plain; charset=utf-8',
  '.svg': 'text/plain; charset=utf-8',
};

/** Content-Type for a file name (`.treeinfo` is its own extension). */
export function contentTypeFor(fileName: string): string {
  const base = path.basename(fileName).toLowerCase();
  const ext = base.startsWith('.') && !base.slice(1).includes('.') ? base : path.extname(base);
  return TYPES[ext] ?? 'application/octet-stream';
}
