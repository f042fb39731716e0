/**
 * Kickstart templates: golden renders of the shipped template for fixture hosts, the
 * missing-variable error text, the handlebars safety rules (deps.md §4, reliability K01/K02/K04)
 * and the structural refusal of a kickstart a variable changed.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import Handlebars from 'handlebars';
import pino from 'pino';
import { isKickstandError } from '../../src/errors';
import { renderChecked } from '../../src/render/kickstart';
import { TemplateSet } from '../../src/render/templates';
import { silentLogger } from '../../src/log';
import { matchGolden } from './golden';
import { fixtureHosts, makeRenderer, OPERATOR_KEYS, ROOT_HASH, TOKEN } from './fixtures';

function errorOf(fn: () => unknown): { code: string; message: string; fix?: string } {
  try {
    fn();
  } catch (e) {
    assert.ok(isKickstandError(e), `expected a KickstandError, got ${String(e)}`);
    return { code: e.code, message: e.message, fix: e.fix };
  }
  assert.fail('expected an error');
}

async function errorOfAsync(p: Promise<unknown>): Promise<{ code: string; message: string; fix?: string }> {
  try {
    await p;
  } catch (e) {
    assert.ok(isKickstandError(e), `expected a KickstandError, got ${String(e)}`);
    return { code: e.code, message: e.message, fix: e.fix };
  }
  assert.fail('expected an error');
}

describe('shipped rocky9 template', () => {
  it('renders the golden kickstart for a static-address host', async () => {
    const { renderer } = makeRenderer();
    const { hosts, store } = await fixtureHosts();
    const ks = await renderer.render(hosts.static!, TOKEN);
    matchGolden('node-static.ks', ks);
    assert.ok(ks.includes(`rootpw --iscrypted '${ROOT_HASH}'`), 'crypt hash reaches the kickstart unescaped');
    // One sshkey per user (pykickstart refuses a second): Kickstand's key there, operators' in %post.
    assert.equal(ks.match(/^sshkey /gm)?.length, 1);
    for (const k of OPERATOR_KEYS)
      assert.ok(ks.includes(`printf '%s\\n' '${k}' >> "$kickstand_root/root/.ssh/authorized_keys"`));
    await store.close();
  });

  it('renders the golden kickstart for a DHCP host with a locked root password', async () => {
    const { renderer } = makeRenderer();
    const { hosts, store } = await fixtureHosts();
    const ks = await renderer.render(hosts.dhcp!, TOKEN);
    matchGolden('node-dhcp.ks', ks);
    assert.match(ks, /^rootpw --lock$/m);
    assert.match(ks, /^timezone 'America\/New_York' --utc$/m, 'host var overrides the global var');
    await store.close();
  });

  it('masks secret vars when asked (host render without --show-secrets)', async () => {
    const { renderer } = makeRenderer();
    const { hosts, store } = await fixtureHosts();
    const ks = await renderer.render(hosts.static!, 'MASKED', { mask: true });
    assert.ok(!ks.includes(ROOT_HASH));
    assert.match(ks, /^rootpw --iscrypted '\*\*\*\*\*\*\*\*'$/m);
    await store.close();
  });

  it("without Kickstand's bootstrap key the render fails naming the snippet, line and variable", async () => {
    const { renderer } = makeRenderer({ bootstrapKey: null });
    const { hosts, store } = await fixtureHosts();
    const e = await errorOfAsync(renderer.render(hosts.static!, TOKEN));
    assert.equal(e.code, 'KS_TEMPLATE_MISSING_VAR');
    matchGolden('missing-var.txt', `${e.code}: ${e.message}\nfix: ${e.fix}\n`);
    await store.close();
  });
});

describe('template rules', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ks-tpl-'));
    mkdirSync(join(dir, 'snippets'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const setOf = (files: Record<string, string>): TemplateSet => {
    const d = mkdtempSync(join(dir, 'set-'));
    mkdirSync(join(d, 'snippets'));
    for (const [name, text] of Object.entries(files)) writeFileSync(join(d, name), text);
    return new TemplateSet(() => d, silentLogger(), 0);
  };

  it('a missing variable used only as a helper argument is an error with file, line and name', () => {
    const t = setOf({ 't.ks.hbs': 'text\n{{> cb}}\n', 'snippets/cb.hbs': '# callback\n\nurl={{shq missing_url}}\n' });
    const e = errorOf(() => t.render('t.ks.hbs', {}));
    assert.equal(e.code, 'KS_TEMPLATE_MISSING_VAR');
    assert.equal(e.message, 'snippets/cb.hbs:3: variable "missing_url" is not set');
  });

  it('a missing variable in an {{#if}} condition is an error unless declared optional', () => {
    const t = setOf({
      'a.ks.hbs': 'text\n{{#if extra}}x{{/if}}\n',
      'b.ks.hbs': '{{!-- kickstand: optional extra --}}\ntext\n{{#if extra}}x{{/if}}\n',
    });
    assert.equal(errorOf(() => t.render('a.ks.hbs', {})).message, 'a.ks.hbs:2: variable "extra" is not set');
    assert.equal(t.render('b.ks.hbs', {}), 'text\n\n');
  });

  it('refuses hostile or unsupported template constructs at load', () => {
    const bodies = [
      '{{lookup . "constructor"}}',
      '{{#with foo}}x{{/with}}',
      '{{> (dynamic)}}',
      '{{foo bar}}',
      '{{log "x"}}',
      '{{#each list as |item|}}{{item}}{{/each}}',
      '{{#*inline "x"}}y{{/inline}}',
      '{{#> layout}}x{{/layout}}',
      '{{@foo}}',
      '{{a.b}}',
      '{{../up}}',
      '{{> missing-snippet}}',
      '{{#if}}',
    ];
    for (const b of bodies) {
      const t = setOf({ 'x.ks.hbs': b });
      const e = errorOf(() => t.render('x.ks.hbs', { foo: 'v', bar: 'v', dynamic: 'v', list: ['a'], a: 'v', up: 'v' }));
      assert.equal(e.code, 'KS_TEMPLATE_INVALID', `${b}: ${e.message}`);
    }
  });

  it('never reaches Object.prototype: constructor/__proto__/toString are unset variables', () => {
    for (const name of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
      const t = setOf({ 'p.ks.hbs': `{{${name}}}` });
      assert.equal(errorOf(() => t.render('p.ks.hbs', {})).code, 'KS_TEMPLATE_MISSING_VAR', name);
    }
  });

  it('does not HTML-escape: crypt hashes and shell survive byte for byte', () => {
    const v = '$6$a/b=c&d<e>\'f"g`h';
    const t = setOf({ 'e.ks.hbs': '# {{v}}\nrootpw --iscrypted {{shq v}}\n' });
    assert.equal(t.render('e.ks.hbs', { v }), `# ${v}\nrootpw --iscrypted '$6$a/b=c&d<e>'\\''f"g\`h'\n`);
  });

  it("routes handlebars' own logger to pino (not the console)", () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _e, cb) {
        lines.push(String(chunk));
        cb();
      },
    });
    new TemplateSet(() => dir, pino({ level: 'info' }, sink), 0);
    (Handlebars.logger as unknown as { log: (l: string, m: string) => void }).log(
      'error',
      'Handlebars: Access has been denied to resolve the property "x"',
    );
    assert.equal(lines.length, 1);
    const rec = JSON.parse(lines[0]!);
    assert.equal(rec.component, 'templates');
    assert.match(rec.msg, /Access has been denied/);
  });

  it('recompiles a template when its file changes, at the re-scan, never in a render', async () => {
    const d = mkdtempSync(join(dir, 'reload-'));
    writeFileSync(join(d, 'r.ks.hbs'), 'one {{shq x}}\n');
    const t = new TemplateSet(() => d, silentLogger(), 0); // 0: no timer, re-scans by refresh() only
    assert.equal(t.render('r.ks.hbs', { x: 'a' }), "one 'a'\n");
    const gen = t.generation();
    writeFileSync(join(d, 'r.ks.hbs'), 'two {{shq x}} and more\n');
    // A render does not look at the folder (the request path): still the compiled version.
    assert.equal(t.render('r.ks.hbs', { x: 'a' }), "one 'a'\n");
    assert.equal(t.generation(), gen);
    await t.refresh();
    assert.equal(t.render('r.ks.hbs', { x: 'a' }), "two 'a' and more\n");
    assert.equal(t.generation(), gen + 1);
    await t.refresh(); // nothing changed: same generation
    assert.equal(t.generation(), gen + 1);
  });

  it('picks up an edited template and snippet by itself (the timer), and a broken edit fails closed', async () => {
    const d = mkdtempSync(join(dir, 'timer-'));
    mkdirSync(join(d, 'snippets'));
    writeFileSync(join(d, 'r.ks.hbs'), 'one {{> s}}\n');
    writeFileSync(join(d, 'snippets', 's.hbs'), 'first');
    const t = new TemplateSet(() => d, silentLogger(), 20);
    try {
      assert.equal(t.render('r.ks.hbs', {}), 'one first\n');
      const until = async (ok: () => boolean, what: string): Promise<void> => {
        const end = Date.now() + 10_000;
        while (!ok()) {
          if (Date.now() > end) throw new Error(`not picked up within 10 s: ${what}`);
          await new Promise((r) => setTimeout(r, 10));
        }
      };
      const renders = (): string => {
        try {
          return t.render('r.ks.hbs', {});
        } catch (e) {
          return (e as { code?: string }).code ?? 'error';
        }
      };
      writeFileSync(join(d, 'snippets', 's.hbs'), 'second one');
      await until(() => renders() === 'one second one\n', 'snippet edit');
      writeFileSync(join(d, 'r.ks.hbs'), 'broken {{#if}}\n');
      await until(() => renders() === 'KS_TEMPLATE_INVALID', 'broken edit');
      assert.equal(renders(), 'KS_TEMPLATE_INVALID'); // stays refused, not the old text
      writeFileSync(join(d, 'r.ks.hbs'), 'fixed {{> s}}\n');
      await until(() => renders() === 'fixed second one\n', 'fixed edit');
    } finally {
      t.close();
    }
  });

  it('refuses a kickstart whose structure a variable changed (fail closed)', () => {
    const t = setOf({
      'unquoted.ks.hbs': 'text\ntimezone {{tz}} --utc\n',
      'linestart.ks.hbs': 'text\n{{extra}}\n%post\ntrue\n%end\n',
      'noend.ks.hbs': 'text\n%post\ntrue\n',
      'quoted.ks.hbs': 'text\ntimezone {{shq tz}} --utc\n',
    });
    assert.equal(
      errorOf(() => renderChecked(t, 'unquoted.ks.hbs', { tz: 'Europe/Paris --isUtc' })).code,
      'KS_TEMPLATE_INVALID',
    );
    const inj = errorOf(() => renderChecked(t, 'linestart.ks.hbs', { extra: '%pre' }));
    assert.equal(inj.code, 'KS_TEMPLATE_INVALID');
    assert.equal(errorOf(() => renderChecked(t, 'noend.ks.hbs', {})).code, 'KS_TEMPLATE_INVALID');
    assert.equal(
      renderChecked(t, 'quoted.ks.hbs', { tz: "Europe/Paris --isUtc $(reboot) 'x'" }),
      "text\ntimezone 'Europe/Paris --isUtc $(reboot) '\\''x'\\''' --utc\n",
    );
    // A line break can never pass (registration refuses it too): the quote is left open.
    assert.equal(errorOf(() => renderChecked(t, 'quoted.ks.hbs', { tz: 'UTC\n%post' })).code, 'KS_TEMPLATE_INVALID');
  });
});
