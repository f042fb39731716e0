/**
 * Host files (CSV per RFC 4180, YAML): rows keep their source lines, quoting works, and a
 * malformed file names every bad line. Validation of the values is the registry's (import.test.ts).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatCsv, parseCsv } from '../../src/hosts/csv';
import { formatHostFile, hostFileFormat, parseHostFile } from '../../src/hosts/host-file';
import { KickstandError } from '../../src/errors';
import type { Host } from '../../src/model/host';

/** The KickstandError `fn` throws. */
function thrown(fn: () => unknown): KickstandError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof KickstandError, String(e));
    assert.equal(e.code, 'KS_IMPORT_INVALID');
    return e;
  }
  return assert.fail('expected KS_IMPORT_INVALID');
}
const details = (fn: () => unknown) => thrown(fn).details ?? [];

const host = (name: string, over: Partial<Host> = {}): Host => ({
  name,
  macs: ['52:54:00:00:00:01'],
  profile: 'rocky9',
  role: 'agent',
  ipv4: null,
  vars: {},
  netboot: true,
  state: 'armed',
  stateReason: null,
  sshHostKeys: [],
  createdAt: '',
  updatedAt: '',
  version: 1,
  ...over,
});

describe('CSV (RFC 4180)', () => {
  it('reads quoted fields with commas, doubled quotes and line breaks, CRLF or LF, and numbers lines', () => {
    const text = '\ufeffa,b,c\r\n1, "x, y" ,"say ""hi"""\n\n"multi\nline",,  z  \n"last"';
    assert.deepEqual(parseCsv(text), [
      { line: 1, cells: ['a', 'b', 'c'] },
      { line: 2, cells: ['1', 'x, y', 'say "hi"'] },
      { line: 4, cells: ['multi\nline', '', 'z'] },
      { line: 6, cells: ['last'] },
    ]);
  });

  it('refuses an unclosed quote, text after a closing quote and a bare quote, with the line', () => {
    assert.throws(() => parseCsv('a\n"open,1\n2\n'), { name: 'CsvSyntaxError', line: 2, message: /not closed/ });
    assert.throws(() => parseCsv('a,b\n"x"y,1\n'), { line: 2, message: /after a closing quote/ });
    assert.throws(() => parseCsv('a,b\n\nx"y,1\n'), { line: 3, message: /quote inside an unquoted field/ });
  });

  it('writes back what it reads (quoting only where needed, CRLF records)', () => {
    const rows = [
      ['name', 'v'],
      ['n1', 'a,b'],
      ['n2', 'say "hi"'],
      ['n3', ' padded '],
      ['n4', 'plain'],
    ];
    const text = formatCsv(rows);
    assert.equal(text, 'name,v\r\nn1,"a,b"\r\nn2,"say ""hi"""\r\nn3," padded "\r\nn4,plain\r\n');
    assert.deepEqual(
      parseCsv(text).map((r) => r.cells),
      rows,
    );
  });
});

describe('host files', () => {
  it('CSV: columns become fields; MACs split on ; or spaces; var columns; empty cells are absent', () => {
    const rows = parseHostFile(
      [
        'name, macs, profile, role, ipv4, netboot, var.tz, var.disk',
        'n1,"52:54:00:00:00:01; 52:54:00:00:00:02",rocky9,server,198.18.0.11,false,UTC,"/dev/vda"',
        'n2,52:54:00:00:00:03 52-54-00-00-00-04,,,none,,,',
      ].join('\n'),
      'csv',
    );
    assert.deepEqual(rows, [
      {
        line: 2,
        name: 'n1',
        macs: ['52:54:00:00:00:01', '52:54:00:00:00:02'],
        profile: 'rocky9',
        role: 'server',
        ipv4: '198.18.0.11',
        netboot: 'false',
        vars: { tz: 'UTC', disk: '/dev/vda' },
      },
      { line: 3, name: 'n2', macs: ['52:54:00:00:00:03', '52-54-00-00-00-04'], ipv4: null, vars: {} },
    ]);
    assert.deepEqual(
      parseHostFile('name,macs\nn1,52:54:00:00:00:01\n', 'csv'),
      [{ line: 2, name: 'n1', macs: ['52:54:00:00:00:01'] }],
      'no var columns: vars absent',
    );
  });

  it('CSV: names every bad header column and every record with the wrong cell count', () => {
    assert.deepEqual(
      details(() => parseHostFile('name,mac,var.,name\n', 'csv')).map((d) => [d.line, d.field]),
      [
        [1, 'mac'],
        [1, 'var.'],
        [1, 'name'],
      ],
    );
    assert.equal(
      details(() => parseHostFile('macs\n52:54:00:00:00:01\n', 'csv'))[0]?.message,
      'the header has no name column',
    );
    assert.deepEqual(
      details(() => parseHostFile('name,macs\nn1\nn2,52:54:00:00:00:02\nn3,a,b\n', 'csv')).map((d) => [
        d.line,
        d.message,
      ]),
      [
        [2, '1 cells where the header has 2'],
        [4, '3 cells where the header has 2'],
      ],
    );
    assert.equal(details(() => parseHostFile('name,macs\n"n1,52\n', 'csv'))[0]?.line, 2);
  });

  it('YAML: a list of objects, each row with the line its item starts on', () => {
    const text =
      '# hosts\n- name: n1\n  macs: [52:54:00:00:00:01]\n  vars: {tz: UTC}\n\n- name: n2\n  macs: 52:54:00:00:00:02\n  ipv4: none\n  netboot: false\n';
    assert.deepEqual(parseHostFile(text, 'yaml'), [
      { line: 2, name: 'n1', macs: ['52:54:00:00:00:01'], vars: { tz: 'UTC' } },
      { line: 6, name: 'n2', macs: '52:54:00:00:00:02', ipv4: null, netboot: false },
    ]);
    assert.deepEqual(parseHostFile('', 'yaml'), []);
    assert.match(thrown(() => parseHostFile('name: n1\n', 'yaml')).message, /not a list/);
    const notMap = details(() => parseHostFile('- name: n1\n- just a string\n', 'yaml'))[0];
    assert.equal(notMap?.line, 2);
    assert.match(notMap?.message ?? '', /item 2/);
    assert.deepEqual(
      details(() => parseHostFile('- name: n1\n- name: n2\n  macs: a: b\n', 'yaml')).map((d) => [d.line, d.message]),
      [[3, 'Nested mappings are not allowed in compact mappings']],
    );
  });

  it('export then parse gives the hosts back, in both formats', () => {
    const hosts = [
      host('n1', {
        macs: ['52:54:00:00:00:01', '52:54:00:00:00:02'],
        ipv4: '198.18.0.9',
        vars: { tz: 'UTC', motd: 'a, "quoted" one' },
      }),
      host('n2', { netboot: false, role: 'server' }),
    ];
    const csv = parseHostFile(formatHostFile(hosts, 'csv'), 'csv');
    assert.deepEqual(
      csv.map(({ line: _l, ...r }) => r),
      [
        {
          name: 'n1',
          macs: ['52:54:00:00:00:01', '52:54:00:00:00:02'],
          profile: 'rocky9',
          role: 'agent',
          ipv4: '198.18.0.9',
          netboot: 'true',
          vars: { motd: 'a, "quoted" one', tz: 'UTC' },
        },
        { name: 'n2', macs: ['52:54:00:00:00:01'], profile: 'rocky9', role: 'server', netboot: 'false', vars: {} },
      ],
    );
    const yaml = parseHostFile(formatHostFile(hosts, 'yaml'), 'yaml');
    assert.deepEqual(
      yaml.map(({ line: _l, ...r }) => r),
      hosts.map((h) => ({
        name: h.name,
        macs: h.macs,
        profile: h.profile,
        role: h.role,
        ipv4: h.ipv4,
        netboot: h.netboot,
        vars: h.vars,
      })),
    );
  });

  it('tells the format from the name or --format', () => {
    assert.equal(hostFileFormat('a/hosts.CSV'), 'csv');
    assert.equal(hostFileFormat('hosts.yml'), 'yaml');
    assert.equal(hostFileFormat('-', 'yaml'), 'yaml');
    assert.throws(() => hostFileFormat('hosts.txt'), { code: 'KS_INVALID_INPUT', field: 'format' });
  });
});
