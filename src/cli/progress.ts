/**
 * @module cli/progress
 * A one-line progress bar for a TTY (stderr), redrawn at most ten times a second, for
 * `images import` (images/os-import.ts ImportProgress). Non-TTY output uses `--json` events.
 */
import type { ImportProgress } from '../images/os-import';

const WIDTH = 30;

export class ProgressBar {
  private last = 0;
  constructor(private readonly out: NodeJS.WriteStream) {}

  update(p: ImportProgress): void {
    const now = Date.now();
    if (p.phase === 'verify' && p.done < p.total && now - this.last < 100) return;
    this.last = now;
    let line: string;
    if (p.phase === 'extract') line = `extracting ${p.file} …`;
    else if (p.phase === 'install') line = `installing into ${p.dir}`;
    else {
      const frac = p.bytesTotal > 0 ? p.bytesDone / p.bytesTotal : p.done / Math.max(1, p.total);
      const n = Math.round(frac * WIDTH);
      line = `verifying [${'#'.repeat(n)}${'.'.repeat(WIDTH - n)}] ${Math.floor(frac * 100)}% ${p.done}/${p.total} ${p.file}`;
    }
    const cols = this.out.columns ?? 100;
    this.out.write(`\r${line.slice(0, cols - 1).padEnd(cols - 1)}`);
  }

  end(): void {
    this.out.write('\n');
  }
}
