/**
 * @module render/template-scan
 * Static checks of a parsed handlebars template, before it is ever compiled (reliability K01,
 * deps.md §4): only our helpers and the `if`/`unless`/`each` blocks, partials by static name
 * only, no decorators, inline partials or `@data` other than `@root`/`@index`/`@first`/`@last`.
 * It also collects every top-level variable the template reads — including helper arguments
 * and `{{#if x}}` conditions, which handlebars' `strict` mode does not check — so the renderer
 * can refuse a missing variable naming the file and line.
 *
 * `{{!-- kickstand: optional a b c --}}` declares variables that may be unset (they render as
 * the empty string and are false in `{{#if}}`).
 */
import { ErrorCode, KickstandError } from '../errors';

/** A variable read at top level: name, file, line. */
export interface VarRef {
  name: string;
  file: string;
  line: number;
}

export interface ScanResult {
  refs: VarRef[];
  partials: Set<string>;
  optional: Set<string>;
}

/** Minimal view of the handlebars AST (handlebars/compiler/ast). */
interface Node {
  type: string;
  loc?: { start: { line: number } } | null;
  [k: string]: unknown;
}
interface PathNode extends Node {
  data: boolean;
  depth: number;
  parts: string[];
  original: string;
}

const BLOCKS: ReadonlySet<string> = new Set(['if', 'unless', 'each']);
const DATA_VARS: ReadonlySet<string> = new Set(['index', 'first', 'last', 'key']);
const OPTIONAL_RE = /^\s*kickstand:\s*optional\s+([A-Za-z0-9_\s,]+)$/;

export class TemplateScanner {
  readonly refs: VarRef[] = [];
  readonly partials = new Set<string>();
  readonly optional = new Set<string>();

  constructor(
    private readonly file: string,
    private readonly helpers: ReadonlySet<string>,
  ) {}

  scan(program: Node): ScanResult {
    this.program(program, 0);
    return { refs: this.refs, partials: this.partials, optional: this.optional };
  }

  private fail(node: Node, what: string): never {
    const line = node.loc?.start.line ?? 0;
    throw new KickstandError(ErrorCode.TEMPLATE_INVALID, `${this.file}:${line}: ${what}`, {
      field: this.file,
      fix: 'templates may use variables, {{shq VAR}}, {{#if}}/{{#unless}}/{{#each}} and {{> snippet}}; see docs/kickstarts.md',
    });
  }

  private program(p: Node | null | undefined, scope: number): void {
    if (!p) return;
    for (const s of p.body as Node[]) this.statement(s, scope);
  }

  private statement(s: Node, scope: number): void {
    switch (s.type) {
      case 'ContentStatement':
        return;
      case 'CommentStatement': {
        const m = OPTIONAL_RE.exec(String(s.value));
        if (m) for (const n of m[1]!.split(/[\s,]+/)) if (n) this.optional.add(n);
        return;
      }
      case 'MustacheStatement':
        return this.call(s, scope, false);
      case 'BlockStatement':
        return this.block(s, scope);
      case 'PartialStatement':
        return this.partial(s);
      default:
        this.fail(s, `${s.type} is not allowed in Kickstand templates`);
    }
  }

  private call(s: Node, scope: number, sub: boolean): void {
    const path = s.path as Node;
    const params = (s.params as Node[]) ?? [];
    const hash = s.hash as { pairs: unknown[] } | undefined;
    if (path.type !== 'PathExpression') this.fail(s, 'a mustache must name a variable or a helper');
    const name = (path as PathNode).original;
    const isHelper = params.length > 0 || (hash !== undefined && hash.pairs.length > 0) || sub;
    if (!isHelper && !this.helpers.has(name)) return this.path(path as PathNode, scope);
    if (!this.helpers.has(name)) this.fail(s, `unknown helper "${name}" (allowed: ${[...this.helpers].join(', ')})`);
    if (hash !== undefined && hash.pairs.length > 0) this.fail(s, `helper ${name} takes no hash arguments`);
    for (const p of params) this.expr(p, scope);
  }

  private block(s: Node, scope: number): void {
    const path = s.path as PathNode;
    if (path.type !== 'PathExpression' || !BLOCKS.has(path.original))
      this.fail(s, `block helper "${path.original}" is not allowed (allowed: if, unless, each)`);
    const params = s.params as Node[];
    if (params.length !== 1) this.fail(s, `{{#${path.original}}} takes exactly one argument`);
    if ((s.program as Node & { blockParams?: unknown[] })?.blockParams?.length)
      this.fail(s, 'block parameters (as |x|) are not allowed');
    this.expr(params[0]!, scope);
    this.program(s.program as Node, path.original === 'each' ? scope + 1 : scope);
    this.program(s.inverse as Node, scope);
  }

  private partial(s: Node): void {
    const name = s.name as Node;
    if (name.type !== 'PathExpression') this.fail(s, 'partials must be named statically ({{> snippet-name}})');
    if ((s.params as Node[]).length > 0 || ((s.hash as { pairs: unknown[] } | undefined)?.pairs.length ?? 0) > 0) {
      this.fail(s, 'partials take no arguments: they see the same variables as the template');
    }
    this.partials.add((name as PathNode).original);
  }

  private expr(e: Node, scope: number): void {
    if (e.type === 'PathExpression') return this.path(e as PathNode, scope);
    if (e.type === 'SubExpression') return this.call(e, scope, true);
    if (e.type === 'StringLiteral' || e.type === 'NumberLiteral' || e.type === 'BooleanLiteral') return;
    this.fail(e, `${e.type} is not allowed here`);
  }

  private path(p: PathNode, scope: number): void {
    const line = p.loc?.start.line ?? 0;
    if (p.data) {
      if (p.parts[0] === 'root') {
        if (p.parts[1] !== undefined) this.refs.push({ name: p.parts[1], file: this.file, line });
        return;
      }
      if (scope > 0 && p.parts.length === 1 && DATA_VARS.has(p.parts[0]!)) return;
      this.fail(p, `@${p.parts.join('.')} is not allowed`);
    }
    if (p.parts.length > 1) this.fail(p, `nested path ${p.original} is not allowed: variables are flat strings`);
    const level = scope - p.depth;
    if (level < 0) this.fail(p, `${p.original} climbs above the template's variables`);
    if (level > 0 || p.parts.length === 0) return; // an item of {{#each}}, or `this`
    this.refs.push({ name: p.parts[0]!, file: this.file, line });
  }
}
