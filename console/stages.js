// Where a machine is in its boot, from the timeline (src/model/event.ts kinds) and the host's
// state (src/model/host-state.ts). The stages a booting machine passes, in order:
export const STAGES = [
  'DHCP',
  'loader',
  'kernel',
  'initrd',
  'kickstart',
  'installing',
  'installed',
  'mesh',
  'cluster',
  'ready',
];

export const STATES = ['registered', 'armed', 'installing', 'installed', 'bootstrapping', 'ready', 'failed'];

const KERNEL = /(vmlinuz|kernel|linux)[^/]*$/i;
const INITRD = /(initrd|initramfs)[^/]*$/i;

/** The stage a state implies when no finer event is known. */
export function stageOfState(state) {
  switch (state) {
    case 'installing':
      return 'installing';
    case 'installed':
      return 'installed';
    case 'bootstrapping':
      return 'mesh';
    case 'ready':
      return 'ready';
    default:
      return null;
  }
}

/** The stage an asset path belongs to (kernel or initrd), or null. */
export function stageOfPath(path) {
  if (typeof path !== 'string') return null;
  if (INITRD.test(path)) return 'initrd';
  if (KERNEL.test(path)) return 'kernel';
  return null;
}

/** The stage a timeline event moves its host to, or null when it says nothing about that. */
export function stageOfEvent(e) {
  const d = e.data || {};
  switch (e.kind) {
    case 'dhcp.offer':
    case 'dhcp.ack':
    case 'dhcp.proxy':
      return 'DHCP';
    case 'tftp.start':
    case 'tftp.done':
    case 'tftp.grub':
    case 'http.ipxe':
      return 'loader';
    case 'http.asset':
      return stageOfPath(d.path);
    case 'kickstart.fetched':
      return 'kickstart';
    case 'install.installing':
      return 'installing';
    case 'install.installed':
      return 'installed';
    case 'mesh.joined':
      return 'mesh';
    case 'bootstrap.step':
      return /k3s|cluster/i.test(String(d.step || '')) ? 'cluster' : null;
    case 'bootstrap.done':
      return 'ready';
    case 'host.state':
      return d.to === 'armed' ? 'armed' : stageOfState(d.to);
    default:
      return null;
  }
}

/** 1-based position of a stage (0 before DHCP). */
export const stageIndex = (stage) => STAGES.indexOf(stage) + 1;
