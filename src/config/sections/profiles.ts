/**
 * @module config/sections/profiles
 * Install profiles: what an armed host boots and which kickstart it gets.
 */
import { z } from 'zod';
import { dhcpOptionSetSchema, EMPTY_OPTION_SET } from './dhcp-options';

export const templateVarsSchema = z.record(
  z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, 'var names are identifiers: letters, digits, _'),
  z.union([z.string(), z.number(), z.boolean()]).transform((v) => String(v)),
);

export const profileSchema = z
  .object({
    /** Kernel path under images/ (or an absolute http(s) URL). */
    kernel: z.string().min(1),
    /** Initrd path under images/ (or an absolute http(s) URL). */
    initrd: z.string().min(1),
    /** Install tree URL (inst.repo=); relative paths are served from images/. */
    installTree: z.string().min(1),
    /** Kickstart template file under kickstarts/, e.g. rocky9.ks.hbs */
    kickstart: z.string().regex(/^[A-Za-z0-9._-]+\.ks\.hbs$/, 'a file name ending in .ks.hbs'),
    /** Extra kernel arguments. */
    kernelArgs: z.string().default(''),
    /**
     * The network loader a UEFI machine of this profile gets: `ipxe` (default), or `grub`, the
     * Secure Boot chain shim → signed GRUB → signed kernel (dhcp.grubLoaders; docs/firmware.md).
     * With `grub`, kernel and initrd must be paths under images/: GRUB fetches them over TFTP.
     */
    loader: z.enum(['ipxe', 'grub']).default('ipxe'),
    vars: templateVarsSchema.default({}),
    /** DHCP options for hosts of this profile (config/sections/dhcp-options.ts); over scope and global. */
    dhcpOptions: dhcpOptionSetSchema.default(EMPTY_OPTION_SET),
  })
  .strict();

export const profilesSchema = z.record(
  z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,62}$/, 'profile names: lower-case letters, digits, . _ -'),
  profileSchema,
);

export type ProfileConfig = z.infer<typeof profileSchema>;
