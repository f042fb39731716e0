/**
 * SIGKILL in the middle of a stream of API writes: every write the API acknowledged (HTTP 201)
 * is there after restart. Several cycles, writes in flight concurrently.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { DaemonProcess } from '../helpers/daemon';

const CYCLES = 3;
const IN_FLIGHT = 8;

describe('store durability across kill -9', () => {
  const d = new DaemonProcess();
  after(() => d.cleanup());

  it(`loses no acknowledged write over ${CYCLES} kill -9 cycles`, async () => {
    const acked = new Set<string>();
    let seq = 0;
    for (let cycle = 0; cycle < CYCLES; cycle++) {
      await d.start();
      let stop = false;
      const writer = async (): Promise<void> => {
        while (!stop) {
          const n = seq++;
          const name = `h${n}`;
          const mac = `52:54:00:${((n >> 16) & 255).toString(16).padStart(2, '0')}:${((n >> 8) & 255).toString(16).padStart(2, '0')}:${(n & 255).toString(16).padStart(2, '0')}`;
          try {
            const r = await d.api('POST', '/hosts', { name, macs: [mac], profile: 'rocky9' });
            if (r.status === 201) acked.add(name);
          } catch {
            return; // connection reset by the kill
          }
        }
      };
      const writers = Array.from({ length: IN_FLIGHT }, writer);
      // The kill lands 300-1000 ms after this cycle's first acknowledged write, not after its
      // start: on a loaded machine the first write (it renders the host's kickstart at arm time)
      // can take longer than the whole window. Bounded: 60 s for that first write.
      const first = acked.size;
      const deadline = Date.now() + 60_000;
      while (acked.size === first && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.ok(acked.size > first, `cycle ${cycle}: no write acknowledged within 60 s of the start`);
      await new Promise((r) => setTimeout(r, 300 + Math.floor(Math.random() * 700)));
      const before = acked.size;
      await d.kill('SIGKILL');
      stop = true;
      await Promise.all(writers);
      assert.ok(acked.size > before - 1 && acked.size > 0, 'writes were acknowledged before the kill');
      await d.start();
      const { json } = await d.api('GET', '/hosts');
      const stored = new Set<string>(json.hosts.map((h: { name: string }) => h.name));
      const lost = [...acked].filter((n) => !stored.has(n));
      assert.deepEqual(lost, [], `cycle ${cycle}: acknowledged but lost after kill -9`);
      const ok = await fetch(`${d.url}/healthz`);
      assert.equal(ok.status, 200);
      await d.kill('SIGTERM');
    }
    assert.ok(acked.size >= CYCLES * 5, `only ${acked.size} writes acknowledged in total`);
  });
});
