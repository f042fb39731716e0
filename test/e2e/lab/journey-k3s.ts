/**
 * @module test/e2e/lab/journey-k3s
 * The journey lab's k3s: a STAND-IN release with the exact layout and checksums of a published
 * k3s air-gap release (test/helpers/k3s-release.ts), imported with `kickstand images import k3s`
 * like a real one. k3s itself cannot run in the lab's machines; its binary is
 * k3s-standin/k3s (a server that listens on the node's mesh address and admits agents that
 * hold the cluster token; an agent that must reach it over the mesh) and its install.sh is
 * k3s-standin/install.sh (the systemd units the real installer writes). Named as a stand-in in
 * its version, its files, the lab output and docs/lab.md.
 */
import { join } from 'node:path';
import { standinK3sRelease } from '../../helpers/k3s-release';
import { LAB_DIR } from './assets';

/** A version tag in k3s's format that says what it is. */
export const K3S_STANDIN_VERSION = 'v1.31.4-standin+k3s1';

export function labK3sRelease(workDir: string): { dir: string; what: string } {
  const rel = standinK3sRelease(workDir, K3S_STANDIN_VERSION, {
    arches: ['amd64'],
    tag: ', Kickstand journey lab',
    binary: join(LAB_DIR, 'k3s-standin', 'k3s'),
    installSh: join(LAB_DIR, 'k3s-standin', 'install.sh'),
  });
  return {
    dir: rel.dir,
    what: 'its server listens on the node mesh address, its agent must reach it over the mesh with the cluster token',
  };
}
