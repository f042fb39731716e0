/**
 * Lazy command loading (src/cli/main.ts): `kickstand --help` loads no command module, a command
 * loads only its own, and the help listing's registry says what the real commands say.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Command, Help } from 'commander';
import { COMMANDS, buildProgram, commandName } from '../../src/cli/main';

const loaded = (part: string): boolean => Object.keys(require.cache).some((k) => k.includes(part));

describe('lazy CLI commands', () => {
  // First in this file: nothing else here has loaded a command module yet.
  it('--help lists every command without loading a command module, zod or yaml', () => {
    const help = buildProgram(['node', 'kickstand', '--help']).helpInformation();
    for (const c of COMMANDS) assert.ok(help.includes(c.term), c.term);
    assert.equal(loaded('/src/cli/commands/'), false);
    assert.equal(loaded('/src/config/'), false);
    assert.equal(loaded('/node_modules/zod/'), false);
  });

  it('a command registers in full, with its options and subcommands', () => {
    const program = buildProgram(['node', 'kickstand', '--server', 'http://x', 'host', 'list']);
    const host = program.commands.find((c) => c.name() === 'host')!;
    assert.ok(host.commands.some((c) => c.name() === 'list'));
    assert.ok(host.commands.some((c) => c.name() === 'bootstrap'));
    assert.equal(loaded('/src/cli/commands/serve'), false);
  });

  it("the registry's terms and descriptions are the real commands'", () => {
    const help = new Help();
    const names = new Set<string>();
    for (const entry of COMMANDS) {
      const program = new Command('kickstand');
      entry.register(program);
      for (const c of program.commands) names.add(c.name());
      const real = program.commands.find((c) => c.name() === entry.name);
      assert.ok(real, `${entry.name} registers ${entry.name}`);
      assert.equal(help.subcommandTerm(real), entry.term);
      assert.equal(real.description(), entry.description);
    }
    assert.deepEqual(
      [...names].sort(),
      COMMANDS.map((c) => c.name).sort(),
      'every top-level command is in the registry',
    );
  });

  it('finds the command name after global options and their values', () => {
    const p = buildProgram();
    assert.equal(commandName(p, ['--server', 'http://x', '--token', 't', 'host', 'list']), 'host');
    assert.equal(commandName(p, ['--server=http://x', 'serve', '--listen', '1']), 'serve');
    assert.equal(commandName(p, ['--config', 'serve', 'images']), 'images');
    assert.equal(commandName(p, ['--help']), undefined);
    assert.equal(commandName(p, ['-V']), undefined);
  });
});
