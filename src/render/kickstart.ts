/**
 * @module render/kickstart
 * Renders a host's kickstart and proves its structure (reliability K02, G18). After the real
 * render, the same template is rendered again with every variable replaced by a neutral
 * placeholder of the same truthiness (`x`, or '' for ''); the two section layouts and the word
 * counts of every command line must match (render/kickstart-check.ts). So a variable can only
 * ever be one word of the line the template put it on: a hostile host var cannot add a `%post`,
 * a command or a `--flag`. Any mismatch refuses the render (KS_TEMPLATE_INVALID), fail closed.
 */
import { ErrorCode, KickstandError, isKickstandError } from '../errors';
import type { Host } from '../model/host';
import type { ProfileConfig } from '../config/sections/profiles';
import { buildContext, maskSecrets, type ClusterFacts, type NetworkFacts } from './context';
import { checkAgainstReference, parseKickstart, type KickstartLayout } from './kickstart-check';
import type { TemplateContext, TemplateSet } from './templates';

/** The config a render reads (live: re-read on every render). */
export interface RenderConfig {
  profiles: Readonly<Record<string, ProfileConfig>>;
  vars: Readonly<Record<string, string>>;
  network: NetworkFacts;
  publicUrl: string;
  /** From the bootstrap config: the ports the kickstart opens for the mesh and k3s. */
  cluster: ClusterFacts;
}

export interface KickstartRendererDeps {
  templates: TemplateSet;
  config: () => RenderConfig;
  /** Kickstand's bootstrap public key (src/bootstrap/keys.ts), null when not available. */
  bootstrapPublicKey: () => Promise<string | null>;
}

export interface RenderOptions {
  /** Mask secret vars (root hash, passwords) in the output: `host render` without --show-secrets. */
  mask?: boolean;
}

export class KickstartRenderer {
  /** The render parts of the config last seen, and a counter bumped when they change. */
  private seen: { profiles: unknown; vars: unknown; network: unknown; publicUrl: string; cluster: string } | null =
    null;
  private configGen = 0;

  constructor(private readonly deps: KickstartRendererDeps) {}

  /**
   * A key that changes whenever anything `render(host, token)` reads may have changed: the
   * host row (version, updatedAt), the token, the template files (their generation), the live
   * config's render parts (a SIGHUP reload replaces them) and the bootstrap key. Renders under
   * equal keys give equal text, so a stored render may be served under its key
   * (install/kickstarts.ts).
   */
  async inputsKey(host: Host, token: string): Promise<string> {
    const cfg = this.deps.config();
    const cluster = JSON.stringify(cfg.cluster);
    const s = this.seen;
    if (
      s === null ||
      s.profiles !== cfg.profiles ||
      s.vars !== cfg.vars ||
      s.network !== cfg.network ||
      s.publicUrl !== cfg.publicUrl ||
      s.cluster !== cluster
    ) {
      this.seen = { profiles: cfg.profiles, vars: cfg.vars, network: cfg.network, publicUrl: cfg.publicUrl, cluster };
      this.configGen++;
    }
    const key = await this.deps.bootstrapPublicKey();
    return `${host.name}|${host.version}|${host.updatedAt}|${token}|${this.deps.templates.generation()}|${this.configGen}|${key}`;
  }

  profileOf(host: Host): ProfileConfig {
    const p = this.deps.config().profiles[host.profile];
    if (!p || !Object.prototype.hasOwnProperty.call(this.deps.config().profiles, host.profile)) {
      throw new KickstandError(
        ErrorCode.UNKNOWN_PROFILE,
        `host ${host.name} uses profile ${host.profile}, which is not in the config`,
        {
          field: 'profile',
          fix: `add profiles.${host.profile} to the config, or move the host to another profile with kickstand host set ${host.name} --profile …`,
        },
      );
    }
    return p;
  }

  /** The context `host` would be rendered with, with `token` in its URLs. */
  async context(host: Host, token: string, opts: RenderOptions = {}): Promise<TemplateContext> {
    const cfg = this.deps.config();
    const ctx = buildContext({
      host,
      profile: this.profileOf(host),
      globalVars: cfg.vars,
      network: cfg.network,
      publicUrl: cfg.publicUrl,
      token,
      bootstrapKey: await this.deps.bootstrapPublicKey(),
      cluster: cfg.cluster,
    });
    return opts.mask ? maskSecrets(ctx) : ctx;
  }

  /** Renders `host`'s kickstart with `token`, checked structurally. */
  async render(host: Host, token: string, opts: RenderOptions = {}): Promise<string> {
    const template = this.profileOf(host).kickstart;
    const ctx = await this.context(host, token, opts);
    try {
      return renderChecked(this.deps.templates, template, ctx);
    } catch (e) {
      // A built-in cannot be set as a var: say where Kickstand's own key comes from instead.
      if (
        isKickstandError(e) &&
        e.code === ErrorCode.TEMPLATE_MISSING_VAR &&
        e.message.includes('"bootstrap_authorized_key"')
      ) {
        throw new KickstandError(e.code, e.message, {
          field: 'bootstrap_authorized_key',
          fix: "Kickstand's bootstrap public key (bootstrap_ed25519.pub in the state directory) is not available: check that the daemon can create and read it",
          cause: e,
        });
      }
      throw e;
    }
  }
}

/** Renders `template` with `ctx` and refuses output whose structure a variable changed. */
export function renderChecked(templates: TemplateSet, template: string, ctx: TemplateContext): string {
  const out = templates.render(template, ctx);
  const ref = reference(templates, template, ctx);
  const diff = checkAgainstReference(out, ref.lines, ref.layout);
  if (diff.length > 0) {
    throw new KickstandError(
      ErrorCode.TEMPLATE_INVALID,
      `${template}: the rendered kickstart is unsound: ${diff.slice(0, 3).join('; ')}`,
      {
        fix: 'quote variables with {{shq VAR}}, never place one at the start of a line, and close every %pre/%post/%packages with %end',
      },
    );
  }
  return out;
}

// The neutral render depends only on the template version, each value's truthiness and each
// list's length: it is cached under that signature (bounded).
interface Reference {
  lines: string[];
  layout: KickstartLayout;
}
const references = new Map<string, Reference>();
const REFERENCES_MAX = 256;

function reference(templates: TemplateSet, template: string, ctx: TemplateContext): Reference {
  let sig = `${template}|${templates.generation()}`;
  for (const k in ctx) {
    const v = ctx[k]!;
    sig += typeof v === 'string' ? (v === '' ? `|${k}` : `|${k}=`) : `|${k}[${v.length}]`;
  }
  let r = references.get(sig);
  if (r === undefined) {
    const text = templates.render(template, neutral(ctx));
    r = { lines: text.split('\n'), layout: parseKickstart(text) };
    if (references.size >= REFERENCES_MAX) references.clear();
    references.set(sig, r);
  }
  return r;
}

/** Every value replaced by a one-word placeholder of the same truthiness. */
export function neutral(ctx: TemplateContext): TemplateContext {
  return Object.fromEntries(
    Object.entries(ctx).map(([k, v]) => [k, typeof v === 'string' ? (v === '' ? '' : 'x') : v.map(() => 'x')]),
  );
}
