/**
 * @module test/e2e/lab/suite
 * One node:test suite per lab scenario: the same runner as `sudo npm run lab`, run once in
 * `before`; one test per machine asserts that machine's checks (plus one for the lab-wide
 * checks). Needs root and QEMU; in CI (root, packages from .ci/debian-packages) it must run.
 * The live timeline goes to stderr; a failure names the step and prints the lab's tail.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { missing } from '../../helpers/env';
import { limitsOf, runLab, type LabResult } from './lab';
import { SCENARIOS, type Scenario } from './machines';
import { labAccel } from './vm';

const NEED = { root: true, binaries: ['qemu-system-x86_64', 'ip', 'curl', 'cpio', 'gzip', 'ssh-keygen', 'busybox'] };

export function labSuite(
  scenario: Scenario['name'],
  title: string,
  expectations: Record<string, string>,
  extraBinaries: string[] = [],
): void {
  const sc = SCENARIOS[scenario];
  // the lab's own bound, setup, and for the journey a first build of its rootfs (rootfs.ts)
  const budget = limitsOf(sc).labMs + 50_000 + (scenario === 'journey' ? 30 * 60_000 : 0);
  describe(title, { timeout: budget + 10_000 }, () => {
    // In CI a missing prerequisite throws here (a failure); elsewhere every test skips with why.
    const why = missing({ ...NEED, binaries: [...NEED.binaries, ...extraBinaries] });
    let result: LabResult | undefined;
    let failure: unknown;
    const out: string[] = [];

    before(
      async () => {
        if (why !== undefined) return;
        try {
          result = await runLab({
            out: (s) => {
              out.push(s);
              process.stderr.write(s + '\n');
            },
            color: false,
            verbose: false,
            installPrereqs: false,
            keep: false,
            accel: labAccel(),
            scenario,
          });
        } catch (e) {
          failure = e;
        }
      },
      { timeout: budget },
    );

    for (const name of [...sc.machines.map((m) => m.name), 'lab']) {
      test(`${name}: ${expectations[name] ?? sc.machines.find((m) => m.name === name)?.firmware ?? ''}`, (t) => {
        if (why !== undefined) return t.skip(why);
        assert.equal(
          failure,
          undefined,
          `the lab did not run to the end: ${String((failure as Error | undefined)?.stack ?? failure)}\n${out.slice(-60).join('\n')}`,
        );
        const mine = result!.checks.filter((c) => c.machine === name);
        assert.ok(mine.length >= (name === 'lab' ? 1 : 4), `no checks recorded for ${name}`);
        const failed = mine.filter((c) => !c.ok).map((c) => `${c.step}: ${c.detail}`);
        assert.deepEqual(failed, [], `${name} failed; lab output:\n${out.slice(-150).join('\n')}`);
        t.diagnostic(`${mine.length} checks ok; lab wall time ${result!.wallSeconds.toFixed(0)} s`);
      });
    }
  });
}
