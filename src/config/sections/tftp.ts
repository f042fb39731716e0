/**
 * @module config/sections/tftp
 * Read-only TFTP for boot loaders. Owned by the TFTP service (src/tftp/).
 */
import { z } from 'zod';
import { ipv4 } from './network';

export const tftpSchema = z
  .object({
    enabled: z.boolean().default(true),
    /**
     * Local addresses to listen on, one socket each, so replies leave from the address the
     * client used (Node has no IP_PKTINFO). Default: network.address.
     */
    listen: z.array(ipv4).default([]),
    /** UDP port (69); 0 picks an ephemeral port (tests, benchmarks). */
    port: z.number().int().min(0).max(65535).default(69),
    maxSessions: z.number().int().min(1).max(10000).default(50),
    maxSessionsPerClient: z.number().int().min(1).max(1000).default(8),
    /** Largest blksize granted (RFC 2348 allows 8..65464). */
    maxBlksize: z.number().int().min(8).max(65464).default(1468),
    /** Largest windowsize granted (RFC 7440). */
    maxWindowsize: z.number().int().min(1).max(65535).default(32),
    /** Retransmission timeout in ms when the client does not negotiate one (RFC 2349). */
    timeoutMs: z.number().int().min(100).max(255000).default(1000),
    /** Retransmissions of one block before the session is abandoned. */
    retries: z.number().int().min(1).max(50).default(5),
  })
  .strict();

export type TftpConfig = z.infer<typeof tftpSchema>;
