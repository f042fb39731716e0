/**
 * @module bench/render
 * Kickstart rendering speed (issue goal: ≥ 5,000 renders/s of the shipped template).
 * Measures, in one process, on the shipped kickstarts/rocky9.ks.hbs with a fixture host:
 *  - `full`: KickstartRenderer.render — context build (vars merge + validation, key parsing),
 *    the render, and the structural check (second neutral render + two layout parses). This is
 *    what GET /ks/<token> does per request.
 *  - `template`: TemplateSet.render alone (our wrapper: required-var check + handlebars).
 *  - `plain handlebars`: the same template compiled directly with handlebars
 *    (noEscape + strict, partials registered): the in-run baseline for our wrapper's cost.
 *
 *   node --import tsx bench/render.ts [--seconds 3]
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Handlebars from 'handlebars';
import { resolveConfig } from '../src/config/load';
import { configSchema } from '../src/config/schema';
import { silentLogger } from '../src/log';
import type { Host } from '../src/model/host';
import { clusterFacts } from '../src/render/context';
import { KickstartRenderer } from '../src/render/kickstart';
import { TemplateSet } from '../src/render/templates';

const DIR = resolve(__dirname, '../kickstarts');
const GOAL = 5000;
const seconds = Number(process.argv[process.argv.indexOf('--seconds') + 1] || 3);

const config = resolveConfig(
  configSchema.parse({
    http: { publicUrl: 'http://198.18.0.1:8080' },
    network: {
      address: '198.18.0.1',
      subnet: '198.18.0.0/24',
      pool: { start: '198.18.0.100', end: '198.18.0.199' },
      gateway: '198.18.0.1',
      dns: ['198.18.0.1'],
      domain: 'lab.example',
    },
    vars: { timezone: 'Europe/Paris', keyboard: 'fr', lang: 'fr_FR.UTF-8' },
    profiles: {
      rocky9: {
        kernel: 'rocky9/vmlinuz',
        initrd: 'rocky9/initrd.img',
        installTree: 'rocky9/tree',
        kickstart: 'rocky9.ks.hbs',
        vars: {
          root_password_hash:
            '$6$kickstand$Jp0hY3GvPzQ.ZyM1dQmC7xJm2W1p4bXrVZ3mV3lI7b0a8uJ0fU9n6m5kLrQ3zT2yXwV1uS0tR9qP8oN7mL6kJ.',
        },
      },
    },
  }),
);
const host: Host = {
  name: 'node1',
  macs: ['52:54:00:12:34:56'],
  profile: 'rocky9',
  role: 'server',
  ipv4: '198.18.0.21',
  vars: {
    install_disk: 'nvme0n1',
    ssh_authorized_keys: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKu4cL9+ccDL/vZ8+xeO1uQmi+Blg3TzjqRxlp3J2m1F alice@ops',
  },
  netboot: true,
  state: 'armed',
  stateReason: null,
  sshHostKeys: [],
  createdAt: '',
  updatedAt: '',
  version: 1,
};
const TOKEN = 'T0k3n_fixture-0123456789abcdefghijklmnopqrs';
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl kickstand-bootstrap';

async function measure(name: string, fn: () => unknown): Promise<number> {
  for (let i = 0; i < 500; i++) await fn(); // warm-up (JIT, template compile)
  let n = 0;
  const t0 = process.hrtime.bigint();
  const end = t0 + BigInt(Math.round(seconds * 1e9));
  while (process.hrtime.bigint() < end) {
    for (let i = 0; i < 100; i++) await fn();
    n += 100;
  }
  const rate = n / (Number(process.hrtime.bigint() - t0) / 1e9);
  console.log(
    `${name.padEnd(18)} ${Math.round(rate).toString().padStart(8)} renders/s  (${(rate / GOAL).toFixed(1)}× the 5,000/s goal)`,
  );
  return rate;
}

async function main(): Promise<void> {
  const templates = new TemplateSet(() => DIR, silentLogger());
  const renderer = new KickstartRenderer({
    templates,
    config: () => ({
      profiles: config.profiles,
      vars: config.vars,
      network: config.network,
      publicUrl: config.http.publicUrl,
      cluster: clusterFacts(config.bootstrap),
    }),
    bootstrapPublicKey: async () => KEY,
  });
  const ctx = await renderer.context(host, TOKEN);
  const size = (await renderer.render(host, TOKEN)).length;
  console.log(`shipped template rocky9.ks.hbs, output ${size} bytes, node ${process.version}, ${seconds} s per case`);

  const hb = Handlebars.create();
  for (const f of readdirSync(join(DIR, 'snippets')))
    hb.registerPartial(f.replace(/\.hbs$/, ''), readFileSync(join(DIR, 'snippets', f), 'utf8'));
  hb.registerHelper('shq', (v: string) => `'${v.replace(/'/g, `'\\''`)}'`);
  const plain = hb.compile(readFileSync(join(DIR, 'rocky9.ks.hbs'), 'utf8'), { noEscape: true, strict: true });
  const plainCtx = { ...ctx, root_password_hash: ctx.root_password_hash ?? '', install_disk: ctx.install_disk ?? '' };

  await measure('full (GET /ks)', () => renderer.render(host, TOKEN));
  if (process.env.BENCH_PARTS) await measure('context only', () => renderer.context(host, TOKEN));
  await measure('template', () => templates.render('rocky9.ks.hbs', ctx));
  await measure('plain handlebars', () => plain(plainCtx));
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
