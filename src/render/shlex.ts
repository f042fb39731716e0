/**
 * @module render/shlex
 * POSIX shell-style word splitting of one kickstart line, the way pykickstart reads command
 * lines (Python `shlex.split(line, comments=True)`, POSIX mode): single quotes are literal,
 * double quotes allow `\"`, `\\`, `\$` and `` \` `` escapes, a backslash outside quotes escapes
 * the next character, and `#` at the start of a word begins a comment. Used by the structural
 * kickstart check to count words; never throws (an unclosed quote is a typed result).
 */

export type SplitResult = { ok: true; words: string[] } | { ok: false; error: 'unclosed quote' | 'trailing backslash' };

// shlex POSIX mode: inside double quotes only " \\ $ ` are escapable (dqEscapable).

/** Splits `line` into words; see the module comment for the rules. */
export function shlexSplit(line: string): SplitResult {
  const r = scan(line, true);
  return r.ok ? { ok: true, words: r.words } : r;
}

/**
 * The first word and the number of words of `line`, by the same rules as {@link shlexSplit}
 * without building the other words (the structural check runs this on every line it reads).
 */
export function shlexShape(line: string): { head: string; words: number } | null {
  const r = scan(line, false);
  return r.ok ? { head: r.head, words: r.count } : null;
}

type ScanResult =
  | { ok: true; words: string[]; head: string; count: number }
  | { ok: false; error: 'unclosed quote' | 'trailing backslash' };

const SQ = 39; // '
const DQ = 34; // "
const BS = 92; // backslash
const HASH = 35; // #

function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13); // space, \t \n \v \f \r
}

function dqEscapable(c: number): boolean {
  return c === DQ || c === BS || c === 36 /* $ */ || c === 96; /* ` */
}

/** One pass over `line`; word text is built only when `all` (or for the first word). */
function scan(line: string, all: boolean): ScanResult {
  const words: string[] = [];
  let head = '';
  let count = 0;
  let word = '';
  let inWord = false;
  let quote = 0;
  const n = line.length;
  for (let i = 0; i < n; i++) {
    const c = line.charCodeAt(i);
    const keep = all || count === 0;
    if (quote === SQ) {
      if (c === SQ) quote = 0;
      else if (keep) word += line[i];
    } else if (quote === DQ) {
      if (c === DQ) quote = 0;
      else if (c === BS && i + 1 < n && dqEscapable(line.charCodeAt(i + 1))) {
        i++;
        if (keep) word += line[i];
      } else if (keep) word += line[i];
    } else if (isSpace(c)) {
      if (inWord) {
        if (count === 0) head = word;
        if (all) words.push(word);
        count++;
        word = '';
        inWord = false;
      }
    } else if (c === HASH && !inWord) {
      break; // comment to end of line
    } else if (c === SQ || c === DQ) {
      quote = c;
      inWord = true;
    } else if (c === BS) {
      if (i + 1 >= n) return { ok: false, error: 'trailing backslash' };
      i++;
      if (keep) word += line[i];
      inWord = true;
    } else {
      if (keep) word += line[i];
      inWord = true;
    }
  }
  if (quote !== 0) return { ok: false, error: 'unclosed quote' };
  if (inWord) {
    if (count === 0) head = word;
    if (all) words.push(word);
    count++;
  }
  return { ok: true, words, head, count };
}

/**
 * Quotes `value` as one POSIX shell word: `'…'`, with each `'` written as `'\''`. The result
 * is one word for sh and for pykickstart's shlex alike, whatever the value holds.
 */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}
