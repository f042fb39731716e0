/**
 * End-to-end PXE lab (test/e2e/lab/, docs/lab.md): real firmware in QEMU boots through
 * Kickstand alone — DHCP, TFTP, HTTP, one-time kickstart, %pre/%post callbacks, local boot
 * afterwards, an unregistered machine only discovered. The same runner as `sudo npm run lab`,
 * run once; one test per machine asserts that machine's checks. Needs root and QEMU; in CI
 * (root, packages from .ci/debian-packages) it must run. The live timeline goes to stderr; a
 * failure names the step and prints the machine's console, its Kickstand timeline and the
 * daemon's log tail.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { missing } from '../helpers/env';
import { runLab, type LabResult } from './lab/lab';
import { MACHINES } from './lab/machines';

const NEED = { root: true, binaries: ['qemu-system-x86_64', 'ip', 'curl', 'cpio', 'gzip', 'ssh-keygen', 'busybox'] };

describe('PXE lab: real firmware boots through Kickstand alone', { timeout: 660_000 }, () => {
  // In CI a missing prerequisite throws here (a failure); elsewhere every test skips with why.
  const why = missing(NEED);
  let result: LabResult | undefined;
  let failure: unknown;
  const out: string[] = [];

  before(async () => {
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
        accel: process.env.KICKSTAND_LAB_ACCEL ?? 'tcg',
      });
    } catch (e) {
      failure = e;
    }
  }, { timeout: 650_000 });

  const expectations: Record<string, string> = {
    bios: 'SeaBIOS + iPXE ROM: DHCP → iPXE script → kernel + initrd → kickstart → %pre → install tree → %post → installed; second boot local; reimage → exactly one reinstall, then local',
    uefi: 'OVMF + iPXE EFI ROM: the same flow as an EFI machine; second boot local',
    stray: 'unregistered OVMF PXE machine: DHCP → TFTP loader → iPXE → discovered, never installed',
  };
  for (const m of MACHINES) {
    test(`${m.name}: ${expectations[m.name] ?? m.firmware}`, (t) => {
      if (why !== undefined) return t.skip(why);
      assert.equal(failure, undefined, `the lab did not run to the end: ${String((failure as Error | undefined)?.stack ?? failure)}\n${out.slice(-60).join('\n')}`);
      const mine = result!.checks.filter((c) => c.machine === m.name);
      assert.ok(mine.length >= 4, `no checks recorded for ${m.name}`);
      const failed = mine.filter((c) => !c.ok).map((c) => `${c.step}: ${c.detail}`);
      assert.deepEqual(failed, [], `${m.name} failed; lab output:\n${out.slice(-150).join('\n')}`);
      t.diagnostic(`${mine.length} checks ok; lab wall time ${result!.wallSeconds.toFixed(0)} s`);
    });
  }
});
