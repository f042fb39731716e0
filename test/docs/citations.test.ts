/**
 * Cited rationale lives in the repo (docs/architecture.md, Conventions): every case code in a
 * src/ comment (D08, G4, reliability T12 …) is a heading of docs/reliability.md, every `deps.md
 * §N` is a section of docs/deps.md, and every `.md` file a comment names exists.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

const REPO = join(__dirname, '../..');

/** Case codes: a letter and two digits (D08, T12, S04), or a goal G1–G99. T1/T2 (DHCP timers) are not codes. */
const CODE = /\b(?:[ADHIKPST]\d{2}|G\d{1,2})\b/g;
/** A markdown file named in a comment, with an optional section: `deps.md §4`, `docs/api.md`. */
const DOC = /(?<![\w./-])((?:[\w-]+\/)*[\w-]+\.md)\b(?:\s+§(\d+(?:\.\d+)*))?/g;
/** A section of a document named without `.md` (`reliability §0`); `anchors` was a research note never in the repo. */
const BARE_SECTION = /\b(reliability|deps|anchors)\s+§(\d+(?:\.\d+)*)/g;

/** Every comment of a TypeScript file (leading and trailing trivia of every token). */
export function comments(fileName: string, text: string): string[] {
  const sf = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const seen = new Map<number, string>();
  const collect = (ranges: ts.CommentRange[] | undefined): void => {
    for (const r of ranges ?? []) seen.set(r.pos, text.slice(r.pos, r.end));
  };
  const visit = (node: ts.Node): void => {
    const children = node.getChildren(sf);
    if (children.length === 0) {
      collect(ts.getLeadingCommentRanges(text, node.pos));
      collect(ts.getTrailingCommentRanges(text, node.end));
    }
    for (const c of children) visit(c);
  };
  visit(sf);
  return [...seen.values()];
}

const hasHeading = (doc: string, title: string): boolean =>
  new RegExp(`^#{1,6}\\s+${title.replace(/[.]/g, '\\.')}(?=\\s|$)`, 'm').test(doc);

/**
 * Problems with the citations in `files`' comments. `readDoc` returns a repository file's text
 * (path relative to the repository root) or undefined when it does not exist.
 */
export function brokenCitations(
  files: Array<{ path: string; text: string }>,
  readDoc: (path: string) => string | undefined,
): { problems: string[]; citations: number } {
  const problems: string[] = [];
  let citations = 0;
  const docPath = (name: string): string => (name.includes('/') ? name : `docs/${name}`);
  for (const f of files) {
    for (const c of comments(f.path, f.text)) {
      for (const [code] of c.matchAll(CODE)) {
        citations++;
        if (!hasHeading(readDoc('docs/reliability.md') ?? '', code))
          problems.push(`${f.path}: ${code} is not a heading of docs/reliability.md`);
      }
      for (const [, name, section] of c.matchAll(DOC)) {
        citations++;
        const doc = readDoc(docPath(name!));
        if (doc === undefined) problems.push(`${f.path}: ${name} is not in the repository (${docPath(name!)})`);
        else if (section !== undefined && !hasHeading(doc, `§${section}`))
          problems.push(`${f.path}: ${name} has no section §${section}`);
      }
      for (const [, stem, section] of c.matchAll(BARE_SECTION)) {
        citations++;
        const doc = readDoc(`docs/${stem}.md`);
        if (doc === undefined)
          problems.push(`${f.path}: ${stem} §${section}: docs/${stem}.md is not in the repository`);
        else if (!hasHeading(doc, `§${section}`))
          problems.push(`${f.path}: ${stem} §${section} is not a heading of docs/${stem}.md`);
      }
    }
  }
  return { problems, citations };
}

function sourceFiles(dir: string): Array<{ path: string; text: string }> {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((p) => p.endsWith('.ts'))
    .sort()
    .map((p) => ({ path: relative(REPO, join(dir, p)), text: readFileSync(join(dir, p), 'utf8') }));
}

const readRepo = (p: string): string | undefined =>
  existsSync(join(REPO, p)) ? readFileSync(join(REPO, p), 'utf8') : undefined;

describe('citations in src/ comments', () => {
  it('every cited case code, section and document exists in the repository', () => {
    const files = sourceFiles(join(REPO, 'src'));
    assert.ok(files.length > 100, 'src/ was read');
    const { problems, citations } = brokenCitations(files, readRepo);
    assert.deepEqual(problems, []);
    assert.ok(citations >= 60, `${citations} citations found (the scan reads comments)`);
  });

  it('finds a missing code, section and document, and only in comments', () => {
    const docs: Record<string, string> = {
      'docs/reliability.md': '# Cases\n## §0 Principles\n### D08 Starvation\n### G4 Durability\n',
      'docs/deps.md': '# Deps\n## §4 handlebars\n',
    };
    const text = [
      "const note = 'D98 deps.md §9 gone.md'; // D08, G4, deps.md §4, reliability §0",
      '/** D99 (reliability G7), deps.md §9, reliability.md §2, gone.md, docs/also-gone.md, RFC 2131 §4.1, anchors §4.6 */',
      'const t = { renewal: 1 /* T1 and T2 are DHCP timers */ };',
    ].join('\n');
    assert.deepEqual(brokenCitations([{ path: 'src/x.ts', text }], (p) => docs[p]).problems, [
      'src/x.ts: D99 is not a heading of docs/reliability.md',
      'src/x.ts: G7 is not a heading of docs/reliability.md',
      'src/x.ts: deps.md has no section §9',
      'src/x.ts: reliability.md has no section §2',
      'src/x.ts: gone.md is not in the repository (docs/gone.md)',
      'src/x.ts: docs/also-gone.md is not in the repository (docs/also-gone.md)',
      'src/x.ts: anchors §4.6: docs/anchors.md is not in the repository',
    ]);
  });
});
