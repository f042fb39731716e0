/**
 * @module config/sections/secrets
 * Secrets at rest (auth/secret-box.ts): the key that encrypts BMC passwords in the database is
 * kept in its own file (0600), apart from the database, so a leaked `kickstand.db` or backup
 * holds no usable password. Back the key file up separately from the database.
 */
import { z } from 'zod';

export const secretsSchema = z
  .object({
    /** The key file; generated at first start. Default: <stateDir>/secrets.key */
    keyFile: z.string().min(1).nullable().default(null),
  })
  .strict();

export type SecretsConfig = z.infer<typeof secretsSchema>;
