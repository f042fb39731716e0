/**
 * Test prerequisites. A test that needs root, a network namespace or a binary nobody here
 * wrote says so: outside CI it is skipped with that message; in CI (CI=true, run as root by
 * .ci/run, which installs every package) a missing prerequisite is a failure, never a skip.
 */
import { execFileSync } from 'node:child_process';
import type { TestContext } from 'node:test';
import { native, nativeStatus } from '../../src/native';

export const IN_CI = process.env.CI === 'true';

export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

export function hasBinary(name: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Returns the reason the test cannot run here, or undefined when it can. In CI a missing
 * prerequisite throws (the test fails); elsewhere the caller skips with the reason.
 */
export function missing(need: { root?: boolean; binaries?: string[]; native?: boolean }): string | undefined {
  const lacks: string[] = [];
  if (need.native && native() === null) lacks.push(`the native addon (${nativeStatus().reason ?? 'not loaded'})`);
  if (need.root && !isRoot()) lacks.push('root (network namespaces)');
  for (const b of need.binaries ?? []) if (!hasBinary(b)) lacks.push(`\`${b}\` on PATH`);
  if (lacks.length === 0) return undefined;
  const why = `needs ${lacks.join(', ')}; .ci/run installs it and CI runs as root`;
  if (IN_CI) throw new Error(`prerequisite missing in CI: ${why}`);
  return why;
}

/** `t.skip(reason)` and true when prerequisites are missing outside CI. */
export function skipUnless(t: TestContext, need: { root?: boolean; binaries?: string[]; native?: boolean }): boolean {
  const why = missing(need);
  if (why === undefined) return false;
  t.skip(why);
  return true;
}
