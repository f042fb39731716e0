/**
 * @module test/e2e/lab/follow-events
 * Runs inside the lab's Kickstand namespace: follows the daemon's whole timeline (GET
 * /api/v1/watch, server-sent events, with the CLI's own client) and prints one JSON event per
 * line. The API token is read from stdin (never argv). Usage: follow-events.ts BASE_URL
 * Reconnects (after the last id seen) if the stream drops, at most 20 times.
 */
import { ApiClient } from '../../../src/cli/client';
import type { HostEvent } from '../../../src/model/event';

async function readStdin(): Promise<string> {
  let s = '';
  for await (const chunk of process.stdin) s += String(chunk);
  return s.trim();
}

async function main(): Promise<void> {
  const base = process.argv[2];
  if (!base) throw new Error('usage: follow-events.ts BASE_URL (token on stdin)');
  const client = new ApiClient({ server: base, token: await readStdin() });
  let after = 0;
  for (let attempt = 0; attempt < 20; attempt++) {
    try {
      for await (const frame of client.stream<HostEvent>(`/watch?after=${after}&limit=1000`)) {
        if (frame.event !== 'timeline') continue; // live download progress is not a timeline event
        const e = frame.data;
        after = Math.max(after, e.id);
        process.stdout.write(JSON.stringify(e) + '\n');
      }
    } catch (e) {
      process.stderr.write(`watch stream: ${(e as Error).message}\n`);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).message}\n`);
  process.exitCode = 1;
});
