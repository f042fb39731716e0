/**
 * The structural kickstart parser (render/kickstart-check.ts) and the shlex splitter it uses.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compareLayouts, parseKickstart } from '../../src/render/kickstart-check';
import { shellQuote, shlexSplit } from '../../src/render/shlex';

describe('shlexSplit (pykickstart / Python shlex POSIX rules)', () => {
  const cases: Array<[string, string[]]> = [
    ['network --device=eth0 --bootproto=dhcp', ['network', '--device=eth0', '--bootproto=dhcp']],
    ["rootpw --iscrypted '$6$a b'", ['rootpw', '--iscrypted', '$6$a b']],
    ['timezone "Europe/Paris" --utc', ['timezone', 'Europe/Paris', '--utc']],
    ['a "b\\"c" d\\ e', ['a', 'b"c', 'd e']],
    ["x 'it'\\''s'", ['x', "it's"]],
    ['cmd # a comment', ['cmd']],
    ['cmd a#b', ['cmd', 'a#b']],
    ['   ', []],
  ];
  for (const [line, words] of cases)
    it(JSON.stringify(line), () => assert.deepEqual(shlexSplit(line), { ok: true, words }));

  it('reports unbalanced quoting instead of throwing', () => {
    assert.deepEqual(shlexSplit("a 'b"), { ok: false, error: 'unclosed quote' });
    assert.deepEqual(shlexSplit('a \\'), { ok: false, error: 'trailing backslash' });
  });

  it('shellQuote always yields exactly one word with the original value', () => {
    for (const v of ['', "'", "a'b'c", '$(reboot)', '"; rm -rf /', '\\', '# x', '%post', ' sp ace ']) {
      assert.deepEqual(shlexSplit(`cmd ${shellQuote(v)}`), { ok: true, words: ['cmd', v] });
    }
  });
});

describe('parseKickstart', () => {
  it('reads commands, sections and %end', () => {
    const l = parseKickstart('text\nlang en_US\n%packages\n@core\n%end\n%post --nochroot\necho hi\n%end\n');
    assert.deepEqual(l.sections, ['%packages', '%post']);
    assert.deepEqual(l.problems, []);
    assert.deepEqual(
      l.lines.map((x) => x.role),
      ['command', 'command', 'header', 'packages', 'end', 'header', 'body', 'end', 'command'],
    );
  });

  it('finds malformed structure', () => {
    const probs = (t: string) => parseKickstart(t).problems;
    assert.match(probs('%post\necho\n')[0]!, /%post not closed by %end/);
    assert.match(probs('%end\n')[0]!, /%end without an open section/);
    assert.match(probs('%post\n%pre\n%end\n')[0]!, /%pre inside %post/);
    assert.match(probs('%bogus\n')[0]!, /unknown section or directive %bogus/);
    assert.match(probs("rootpw 'abc\n")[0]!, /unbalanced quoting/);
    assert.match(probs('%post\necho\n%end --x\n')[0]!, /%end takes no arguments/);
  });

  it('treats unknown %words inside a script as body (pykickstart _readSection)', () => {
    assert.deepEqual(parseKickstart('%post\n%notasection x\nprintf "%s"\n%end\n').problems, []);
  });

  it('compareLayouts catches an extra word, a changed command and an injected section', () => {
    const ref = parseKickstart("timezone 'x' --utc\n%post\ntrue\n%end\n");
    assert.deepEqual(compareLayouts(parseKickstart("timezone 'Europe/Paris' --utc\n%post\ntrue\n%end\n"), ref), []);
    assert.equal(
      compareLayouts(parseKickstart('timezone Europe/Paris --isUtc --utc\n%post\ntrue\n%end\n'), ref).length,
      1,
    );
    assert.ok(compareLayouts(parseKickstart("reboot 'x' --utc\n%post\ntrue\n%end\n"), ref).length > 0);
    assert.ok(compareLayouts(parseKickstart("%pre 'x' --utc\n%post\ntrue\n%end\n"), ref).length > 0);
  });
});
