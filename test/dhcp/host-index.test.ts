/**
 * The DHCP server reads registered hosts from the store's in-memory index (store/host-index.ts),
 * not from SQLite per packet. These tests change hosts the way the daemon does (through the
 * registry, which the API calls) and check that the very next DISCOVER sees the change.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { MessageType as T, Opt } from '../../src/dhcp/constants';
import { getU8 } from '../../src/dhcp/options';
import { HostRegistry } from '../../src/hosts/registry';
import type { Config } from '../../src/config/schema';
import { NETWORK, startHarness, request, type Harness, type Sent } from './helpers/harness';

const PXE_UEFI: [number, Buffer | string | number[]][] = [
  [60, 'PXEClient:Arch:00007:UNDI:003016'],
  [93, [0, 7]],
  [94, [1, 3, 1]],
];

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

function registryOf(h: Harness): HostRegistry {
  const config = { profiles: { default: {} }, network: NETWORK } as unknown as Pick<Config, 'profiles' | 'network'>;
  return new HostRegistry(h.store, config);
}

async function discover(h: Harness, mac: string): Promise<Sent | undefined> {
  const [offer] = await h.ask(request({ type: T.DISCOVER, mac, options: PXE_UEFI }));
  if (offer) assert.equal(getU8(offer.packet.options, Opt.MESSAGE_TYPE), T.OFFER);
  return offer;
}

const hostname = (s: Sent | undefined) => s?.packet.options.get(Opt.HOSTNAME)?.toString('latin1');

describe('DHCP sees host changes made through the registry at the next packet', () => {
  it('add, change address, move MAC, remove: each shows in the next OFFER', async () => {
    h = await startHarness(); // unknownHosts: ignore — only registered MACs are answered
    const reg = registryOf(h);
    assert.equal(await discover(h, '52:54:00:00:00:01'), undefined, 'unregistered: ignored');

    await reg.add({ name: 'node1', macs: ['52:54:00:00:00:01'], profile: 'default', ipv4: '198.18.0.50' });
    let offer = await discover(h, '52:54:00:00:00:01');
    assert.equal(offer?.packet.yiaddr, '198.18.0.50', 'its reservation');
    assert.equal(hostname(offer), 'node1');

    await reg.update('node1', { ipv4: '198.18.0.60' });
    offer = await discover(h, '52:54:00:00:00:01');
    assert.equal(offer?.packet.yiaddr, '198.18.0.60', 'the changed reservation');

    await reg.update('node1', { macs: ['52:54:00:00:00:02'] });
    assert.equal(await discover(h, '52:54:00:00:00:01'), undefined, 'the old MAC is no longer registered');
    offer = await discover(h, '52:54:00:00:00:02');
    assert.equal(offer?.packet.yiaddr, '198.18.0.60');
    assert.equal(hostname(offer), 'node1');

    await reg.remove('node1');
    assert.equal(await discover(h, '52:54:00:00:00:02'), undefined, 'removed: unknown again');
  });

  it('a pool address reserved through the registry is skipped for other clients, and free again once the reservation is removed', async () => {
    h = await startHarness({ dhcp: { unknownHosts: 'discover' } }); // pool .100-.109
    const reg = registryOf(h);
    await reg.add({ name: 'node1', macs: ['52:54:00:00:00:01'], profile: 'default', ipv4: '198.18.0.100' });
    const got: string[] = [];
    for (let i = 0; i < 9; i += 1) {
      const offer = await discover(h, `52:54:00:00:01:${String(i).padStart(2, '0')}`);
      assert.ok(offer, `client ${i} gets an offer`);
      got.push(offer.packet.yiaddr);
    }
    assert.ok(!got.includes('198.18.0.100'), `the reserved address is never offered to others: ${got.join(' ')}`);
    assert.equal(new Set(got).size, 9);
    assert.equal(await discover(h, '52:54:00:00:01:99'), undefined, 'pool exhausted (the reserved address excluded)');

    await reg.update('node1', { ipv4: null });
    const offer = await discover(h, '52:54:00:00:01:99');
    assert.equal(offer?.packet.yiaddr, '198.18.0.100', 'the released reservation is a pool address again');
  });

  it('a refused registry write (duplicate MAC) changes nothing the server sees', async () => {
    h = await startHarness();
    const reg = registryOf(h);
    await reg.add({ name: 'node1', macs: ['52:54:00:00:00:01'], profile: 'default', ipv4: '198.18.0.50' });
    await assert.rejects(
      reg.add({ name: 'node2', macs: ['52:54:00:00:00:01'], profile: 'default', ipv4: '198.18.0.51' }),
      { code: 'KS_MAC_IN_USE' },
    );
    const offer = await discover(h, '52:54:00:00:00:01');
    assert.equal(offer?.packet.yiaddr, '198.18.0.50');
    assert.equal(hostname(offer), 'node1');
  });
});
