/**
 * @module http/boot/scripts
 * Renders a registered host's `/ipxe/<mac>` script for a decision of boot/policy.ts
 * decideScript, for the live route and the dry run (`host render --ipxe`) alike, so the
 * two can never disagree: `install` → kernel, initrd and the one-time kickstart URL;
 * `local` → boot the local disk, saying why.
 */
import { assetUrl, kickstartUrl } from '../../render/context';
import { installScript, localBootScript } from '../../boot/ipxe';
import type { HostScriptDecision } from '../../boot/policy';
import type { Host } from '../../model/host';
import type { KickstartRenderer } from '../../render/kickstart';

export interface ScriptInput {
  host: Host;
  /** The MAC the script is for (the one in the request; the host's first for a dry run). */
  mac: string;
  /** What goes in the kickstart URL: the live token, or a placeholder for a dry run. */
  tokenText: string;
  publicUrl: string;
  renderer: KickstartRenderer;
}

export function hostScriptText(d: HostScriptDecision, i: ScriptInput): string {
  if (d.kind === 'local') return localBootScript(i.host.name, d.reason);
  const profile = i.renderer.profileOf(i.host);
  return installScript({
    host: i.host.name,
    profile: i.host.profile,
    mac: i.mac,
    kernelUrl: assetUrl(i.publicUrl, profile.kernel),
    initrdUrl: assetUrl(i.publicUrl, profile.initrd),
    kickstartUrl: kickstartUrl(i.publicUrl, i.tokenText),
    installTree: assetUrl(i.publicUrl, profile.installTree),
    kernelArgs: profile.kernelArgs,
  });
}
