/**
 * The CLI's event stream (ApiClient.stream, `kickstand watch`, the labs' event follower) stays
 * open between events. Node's global HTTP agent (keep-alive since Node 19) gives its sockets a
 * 5 s timeout, which aborted every stream whose next event or heartbeat (15 s) came later: the
 * journey lab's follower gave up mid-run. Here a server sends one frame, then the next after
 * 6.5 s of silence; both must arrive on one connection.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { ApiClient } from '../../src/cli/client';

describe('ApiClient.stream', () => {
  it('keeps the stream open across a silence longer than the global agent timeout (5 s)', async () => {
    let connections = 0;
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('event: timeline\ndata: {"n":1}\n\n');
      setTimeout(() => res.end('event: timeline\ndata: {"n":2}\n\n'), 6500);
    });
    server.on('connection', () => connections++);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    try {
      const client = new ApiClient({ server: `http://127.0.0.1:${port}`, token: 't' }, {});
      const got: number[] = [];
      for await (const f of client.stream<{ n: number }>('/watch')) got.push(f.data.n);
      assert.deepEqual(got, [1, 2]);
      assert.equal(connections, 1, 'one connection, never re-opened');
    } finally {
      server.close();
    }
  });
});
