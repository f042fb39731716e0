/**
 * The installed entry point: bin/kickstand runs the compiled CLI from dist/ (npm test builds
 * it first; npm ci builds it through `prepare`).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from '../helpers/daemon';

describe('bin/kickstand', () => {
  it('runs the compiled CLI', () => {
    assert.ok(existsSync(join(REPO, 'dist/src/cli/main.js')), 'dist/ is built (npm run build)');
    const r = spawnSync(join(REPO, 'bin/kickstand'), ['--version'], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^\d+\.\d+\.\d+\n$/);
    const h = spawnSync(join(REPO, 'bin/kickstand'), ['host', '--help'], { encoding: 'utf8', timeout: 30_000 });
    assert.match(h.stdout, /add \[options\] <name>/);
  });
});
