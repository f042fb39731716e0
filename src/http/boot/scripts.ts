/**
 * @module http/boot/scripts
 * What `/ipxe/<mac>` serves a registered host, shared by the live route and the dry run
 * (`host render --ipxe`) so the two can never disagree:
 *  - armed, with a token whose kickstart has not been fetched → the install script;
 *  - armed, kickstart already fetched (the install ran, its callback was lost) → local boot
 *    until the operator re-arms (reliability I05: no second wipe);
 *  - any other state → local boot.
 */
import { assetUrl, kickstartUrl } from '../../render/context';
import { installScript, localBootScript } from '../../boot/ipxe';
import type { Host } from '../../model/host';
import type { InstallToken } from '../../model/token';
import type { KickstartRenderer } from '../../render/kickstart';

export type HostScript =
  | { kind: 'install'; text: string }
  | { kind: 'local'; text: string; reason: string };

export interface ScriptInput {
  host: Host;
  /** The MAC the script is for (the one in the request; the host's first for a dry run). */
  mac: string;
  /** The host's live token (undefined: none yet); `tokenText` is what goes in the URL. */
  token: InstallToken | undefined;
  tokenText: string;
  publicUrl: string;
  renderer: KickstartRenderer;
}

/** Why an armed host still boots locally, or null when it should install. */
export function localReason(host: Host, token: InstallToken | undefined): string | null {
  if (host.state !== 'armed' || !host.netboot) return `state ${host.state}${host.netboot ? '' : ', netboot off'}`;
  if (token?.fetchedAt != null) return 'its kickstart was already fetched (install ran; re-arm to reinstall)';
  return null;
}

export function scriptFor(i: ScriptInput): HostScript {
  const reason = localReason(i.host, i.token);
  if (reason !== null) return { kind: 'local', reason, text: localBootScript(i.host.name, reason) };
  const profile = i.renderer.profileOf(i.host);
  return {
    kind: 'install',
    text: installScript({
      host: i.host.name,
      profile: i.host.profile,
      mac: i.mac,
      kernelUrl: assetUrl(i.publicUrl, profile.kernel),
      initrdUrl: assetUrl(i.publicUrl, profile.initrd),
      kickstartUrl: kickstartUrl(i.publicUrl, i.tokenText),
      installTree: assetUrl(i.publicUrl, profile.installTree),
      kernelArgs: profile.kernelArgs,
    }),
  };
}
