/**
 * Layers point down only (docs/architecture.md, "Layers"): no import from a higher layer, no
 * file import cycle, no cycle between top-level folders of src/, and every file placed in the
 * one table (test/architecture/layers.ts, LAYERS).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { checkLayers, LAYERS, readGraph, SRC_DIR, type Graph, type Layer } from './layers';

describe('architecture: layers point down', () => {
  it('src/ has no upward import, no file cycle and no folder cycle', () => {
    const problems = checkLayers(readGraph(SRC_DIR), LAYERS, []);
    assert.deepEqual(problems, [], `\n${problems.map((p) => `- ${p}`).join('\n')}\n`);
  });
});

describe('architecture: the checker itself', () => {
  const layers: Layer[] = [
    { name: 'low', holds: 'low', members: ['a/', 'b/codec.ts'] },
    { name: 'high', holds: 'high', members: ['b/', 'c.ts', 'gone/'] },
  ];
  const edge = (from: string, to: string, line = 1) => ({ from, to, line, specifier: `./${to}` });
  const graph: Graph = {
    files: ['a/x.ts', 'a/y.ts', 'b/z.ts', 'b/q.ts', 'b/r.ts', 'b/codec.ts', 'c.ts', 'd/w.ts'],
    edges: [
      edge('a/x.ts', 'a/y.ts', 3), // a/x <-> a/y: a file cycle
      edge('a/y.ts', 'a/x.ts', 4),
      edge('a/x.ts', 'b/z.ts', 5), // low -> high: upward
      edge('b/codec.ts', 'b/q.ts', 6), // a codec below its folder reaching into it: upward
      edge('b/z.ts', 'c.ts', 7), // b -> c.ts -> b through different files: a folder cycle only
      edge('c.ts', 'b/q.ts', 8),
      edge('b/r.ts', 'b/z.ts', 9), // same layer, no cycle: fine
    ],
    unresolved: [edge('a/y.ts', 'missing', 2)],
  };

  it('reports a file cycle, upward imports, a folder cycle, unplaced files, stale members and unresolved imports', () => {
    const got = checkLayers(graph, layers, []);
    const expect = [
      /^src\/d\/w\.ts: not in any layer/,
      /^layer "high" lists gone\/, which matches no file/,
      /^src\/a\/y\.ts:2 imports '\.\/missing', which resolves to no file/,
      /^src\/a\/x\.ts:5 imports '\.\/b\/z\.ts' \(src\/b\/z\.ts\): upward import, from layer 0 "low" to layer 1 "high"/,
      /^src\/b\/codec\.ts:6 imports '\.\/b\/q\.ts' \(src\/b\/q\.ts\): upward import/,
      /^file import cycle \(src\/a\/x\.ts, src\/a\/y\.ts\): src\/a\/x\.ts:3 imports .* -> src\/a\/y\.ts:4 imports/,
      /^folder import cycle between top-level parts of src\/ \(b, c\.ts\): b -> c\.ts by src\/b\/z\.ts:7 .*; c\.ts -> b by src\/c\.ts:8/,
    ];
    assert.equal(got.length, expect.length, got.join('\n'));
    expect.forEach((re, i) => assert.match(got[i]!, re));
  });

  it('leaves out known violations, and reports entries that are gone or no longer violations', () => {
    const got = checkLayers({ ...graph, unresolved: [] }, layers, [
      { from: 'a/x.ts', to: 'b/z.ts', owner: 'someone' }, // upward: still a violation, left out
      { from: 'c.ts', to: 'b/q.ts', owner: 'someone' }, // breaks the folder cycle
      { from: 'a/x.ts', to: 'c.ts', owner: 'someone' }, // no such import
      { from: 'b/r.ts', to: 'b/z.ts', owner: 'someone' }, // exists, but is fine
    ]);
    assert.ok(!got.some((p) => /upward import/.test(p) && /src\/a\/x\.ts:5/.test(p)), got.join('\n'));
    assert.ok(!got.some((p) => p.startsWith('folder import cycle')), got.join('\n'));
    assert.ok(
      got.some((p) =>
        /^KNOWN_VIOLATIONS lists src\/a\/x\.ts -> src\/c\.ts \(someone\), but there is no such import/.test(p),
      ),
      got.join('\n'),
    );
    assert.ok(
      got.some((p) => /^KNOWN_VIOLATIONS lists src\/b\/r\.ts:9 .* no longer upward or in a cycle/.test(p)),
      got.join('\n'),
    );
    assert.ok(
      got.some((p) => p.startsWith('file import cycle')),
      'an unrelated cycle is still reported',
    );
  });

  it('reads every form of relative import, with its line, and nothing in comments or strings', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ks-layers-'));
    try {
      const put = (f: string, text: string): void => {
        mkdirSync(dirname(join(dir, f)), { recursive: true });
        writeFileSync(join(dir, f), text);
      };
      for (const f of ['t1.ts', 't2.ts', 't3.ts', 't4.ts', 't5.ts', 't6.ts', 'sub/index.ts', 'c1.ts', 'c2.ts'])
        put(f, '');
      put(
        'main.ts',
        [
          "import type { A } from './t1';", // 1
          'import {', // 2
          '  b,',
          "} from './t2';", // 4
          "export * from './t3';", // 5
          "const l = require('./t4') as typeof import('./t5');", // 6
          "void import('./t6');", // 7
          "import './sub';", // 8
          "// import x from './c1';", // 9
          'const s = "import y from \'./c2\'";', // 10
          "import fs from 'node:fs';", // 11
          "import nope from './nope';", // 12
        ].join('\n'),
      );
      const g = readGraph(dir);
      const fromMain = g.edges.filter((e) => e.from === 'main.ts').map((e) => `${e.line} ${e.to}`);
      assert.deepEqual(fromMain, ['1 t1.ts', '4 t2.ts', '5 t3.ts', '6 t4.ts', '6 t5.ts', '7 t6.ts', '8 sub/index.ts']);
      assert.deepEqual(
        g.unresolved.map((e) => `${e.line} ${e.specifier}`),
        ['12 ./nope'],
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
