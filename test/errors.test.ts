import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ERROR_STATUS, ErrorCode, KickstandError } from '../src/errors';
import { REPO } from './helpers/daemon';

describe('error catalogue', () => {
  const doc = readFileSync(join(REPO, 'docs/errors.md'), 'utf8');
  const rows = new Map([...doc.matchAll(/^\| `(KS_[A-Z0-9_]+)` \| (\d{3}) \|/gm)].map((m) => [m[1]!, Number(m[2])]));

  it('documents every code with its HTTP status, and nothing else', () => {
    const codes = Object.values(ErrorCode);
    assert.equal(new Set(codes).size, codes.length, 'codes are unique');
    for (const c of codes) assert.equal(rows.get(c), ERROR_STATUS[c], `docs/errors.md row for ${c}`);
    assert.deepEqual([...rows.keys()].sort(), [...codes].sort());
  });

  it('serialises to {code, message, field, fix}', () => {
    const e = new KickstandError(ErrorCode.INVALID_MAC, 'bad', { field: 'macs[0]', fix: 'do this' });
    assert.deepEqual(e.toJSON(), { code: 'KS_INVALID_MAC', message: 'bad', field: 'macs[0]', fix: 'do this' });
    assert.equal(e.status, 400);
    assert.deepEqual(new KickstandError(ErrorCode.INTERNAL, 'x').toJSON(), { code: 'KS_INTERNAL', message: 'x' });
    const details = [
      { row: 2, line: 4, name: 'n3', code: ErrorCode.INVALID_MAC, field: 'macs[0]', message: 'bad', fix: 'do this' },
    ];
    assert.deepEqual(new KickstandError(ErrorCode.IMPORT_INVALID, 'rows', { details }).toJSON(), {
      code: 'KS_IMPORT_INVALID',
      message: 'rows',
      details,
    });
  });
});
