/**
 * @module render/kickstart-check
 * Our own small structural parser of kickstart files (reliability G18; no JS kickstart parser
 * exists). It follows pykickstart's reading rules:
 *  - the command section is read line by line, each line split like `shlex.split`;
 *  - `%pre`, `%pre-install`, `%post`, `%packages`, `%onerror`, `%traceback`, `%addon`,
 *    `%anaconda`, `%certificate` open a section that must be closed by `%end`;
 *  - inside a section, a line whose first whitespace-separated word is a section keyword is
 *    a section boundary (pykickstart `_readSection`), anything else is body;
 *  - `%include` and `%ksappend` are one-line directives of the command section.
 * {@link parseKickstart} gives the layout and well-formedness problems; {@link compareLayouts}
 * says how two renders of one template differ in structure (a variable that changed it).
 */
import { shlexShape } from './shlex';

export const SECTION_KEYWORDS: ReadonlySet<string> = new Set([
  '%pre',
  '%pre-install',
  '%post',
  '%packages',
  '%onerror',
  '%traceback',
  '%addon',
  '%anaconda',
  '%certificate',
]);
export const DIRECTIVES: ReadonlySet<string> = new Set(['%include', '%ksappend']);

/** Where a line sits: the command section, a %packages body, or a script/other body. */
export type LineRole = 'command' | 'header' | 'end' | 'packages' | 'body';

export interface LayoutLine {
  line: number;
  role: LineRole;
  /** First word (command name, package, section keyword); '' for blank/comment lines. */
  head: string;
  /** shlex word count for command/header/packages lines; -1 if the line does not split. */
  words: number;
}

export interface KickstartLayout {
  /** Section keywords in order, e.g. ['%packages', '%pre', '%post']. */
  sections: string[];
  lines: LayoutLine[];
  /** Well-formedness problems ('line 12: %post not closed by %end'); empty when sound. */
  problems: string[];
}

function firstWord(line: string): string {
  const m = /^\s*(\S+)/.exec(line);
  return m ? m[1]! : '';
}

function splitLine(line: string): { head: string; words: number } {
  return shlexShape(line) ?? { head: firstWord(line), words: -1 };
}

/** Parses `text` into its layout; never throws. */
export function parseKickstart(text: string): KickstartLayout {
  const sections: string[] = [];
  const lines: LayoutLine[] = [];
  const problems: string[] = [];
  let open: { kind: string; line: number } | null = null;
  const src = text.split('\n');
  for (let i = 0; i < src.length; i++) {
    const n = i + 1;
    const raw = src[i]!;
    const w0 = firstWord(raw);
    if (open === null) {
      const { head, words } = splitLine(raw);
      if (words === -1) problems.push(`line ${n}: unbalanced quoting in a command line`);
      if (SECTION_KEYWORDS.has(head)) {
        open = { kind: head, line: n };
        sections.push(head);
        lines.push({ line: n, role: 'header', head, words });
      } else if (head === '%end') {
        problems.push(`line ${n}: %end without an open section`);
        lines.push({ line: n, role: 'end', head, words });
      } else {
        if (head.startsWith('%') && !DIRECTIVES.has(head))
          problems.push(`line ${n}: unknown section or directive ${head}`);
        lines.push({ line: n, role: 'command', head, words });
      }
      continue;
    }
    if (w0 === '%end') {
      if (raw.trim() !== '%end') problems.push(`line ${n}: %end takes no arguments`);
      lines.push({ line: n, role: 'end', head: '%end', words: 1 });
      open = null;
    } else if (SECTION_KEYWORDS.has(w0) || DIRECTIVES.has(w0)) {
      problems.push(`line ${n}: ${w0} inside ${open.kind} (opened at line ${open.line}, not closed by %end)`);
      lines.push({ line: n, role: 'header', head: w0, words: 0 });
    } else if (open.kind === '%packages') {
      const { head, words } = splitLine(raw);
      lines.push({ line: n, role: 'packages', head, words });
    } else {
      lines.push({ line: n, role: 'body', head: '', words: 0 });
    }
  }
  if (open !== null) problems.push(`line ${open.line}: ${open.kind} not closed by %end`);
  return { sections, lines, problems };
}

// Package lines may legitimately start with a variable (a package name); a command name or a
// section keyword never may.
function headDiffers(a: LayoutLine, r: LayoutLine): boolean {
  if (a.role === 'packages') return a.head.startsWith('%') !== r.head.startsWith('%');
  return a.head !== r.head;
}

/**
 * Structural differences of `actual` from `reference` (two renders of the same template):
 * section list, line count, and per command/header/packages line the first word and word count.
 * Empty when the structure is the same.
 */
export function compareLayouts(actual: KickstartLayout, reference: KickstartLayout): string[] {
  const out: string[] = [];
  if (actual.sections.join(' ') !== reference.sections.join(' ')) {
    out.push(`sections are [${actual.sections.join(' ')}], expected [${reference.sections.join(' ')}]`);
  }
  if (actual.lines.length !== reference.lines.length) {
    out.push(`${actual.lines.length} lines, expected ${reference.lines.length}`);
    return out;
  }
  for (let i = 0; i < actual.lines.length && out.length < 10; i++) {
    const a = actual.lines[i]!;
    const r = reference.lines[i]!;
    if (a.role !== r.role) out.push(`line ${a.line}: is ${a.role}, expected ${r.role}`);
    else if (a.role !== 'body' && (headDiffers(a, r) || a.words !== r.words)) {
      const why =
        a.head !== r.head
          ? `starts with ${JSON.stringify(a.head.slice(0, 40))} instead of ${JSON.stringify(r.head.slice(0, 40))}`
          : `has ${a.words} words instead of ${r.words}`;
      out.push(`line ${a.line}: ${why} (a variable is unquoted or changes the structure; quote it with {{shq …}})`);
    }
  }
  return out;
}

/**
 * The same verdict as `compareLayouts(parseKickstart(text), reference)` when `reference` is
 * sound, computed faster: lines identical to the reference render are skipped (same text, same
 * shape), and only lines a variable changed are split and checked in the role the reference
 * gives them (pykickstart's reading of a line depends only on the section it is in, and the
 * section sequence can only change on a line whose shape changed).
 */
export function checkAgainstReference(text: string, refText: readonly string[], reference: KickstartLayout): string[] {
  if (reference.problems.length > 0) return reference.problems.map((p) => `template itself: ${p}`);
  const lines = text.split('\n');
  if (lines.length !== refText.length) return [`${lines.length} lines, expected ${refText.length}`];
  const out: string[] = [];
  for (let i = 0; i < lines.length && out.length < 10; i++) {
    const raw = lines[i]!;
    if (raw === refText[i]) continue;
    const r = reference.lines[i]!;
    if (r.role === 'body') {
      const w0 = firstWord(raw);
      if (w0 === '%end' || SECTION_KEYWORDS.has(w0) || DIRECTIVES.has(w0))
        out.push(`line ${r.line}: a variable starts a section boundary (${w0}) inside a section`);
      continue;
    }
    if (r.role === 'end') {
      out.push(`line ${r.line}: a variable changed a %end line`);
      continue;
    }
    const a: LayoutLine = { line: r.line, role: r.role, ...splitLine(raw) };
    if (r.role === 'command' && SECTION_KEYWORDS.has(a.head))
      out.push(`line ${r.line}: a variable opens a section (${a.head})`);
    else if (headDiffers(a, r) || a.words !== r.words) {
      const why = headDiffers(a, r)
        ? `starts with ${JSON.stringify(a.head.slice(0, 40))} instead of ${JSON.stringify(r.head.slice(0, 40))}`
        : `has ${a.words} words instead of ${r.words}`;
      out.push(`line ${r.line}: ${why} (a variable is unquoted or changes the structure; quote it with {{shq …}})`);
    }
  }
  return out;
}
