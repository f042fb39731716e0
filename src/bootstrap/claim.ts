/**
 * @module bootstrap/claim
 * A host's bootstrap runs on exactly one of the daemons sharing a store (docs/scale-out.md):
 * before a run the daemon takes the claim `bootstrap:<host>` in the store (one conditional
 * write, store.ts ClaimRepo), renews it while the plan runs and gives it up at the end. A
 * daemon that dies mid-run holds it at most {@link CLAIM_TTL_MS}; then another may take it
 * (plans are idempotent). The same daemon restarted takes its own claim again at once.
 */
import type { ClaimRepo } from '../store/store';

export const CLAIM_TTL_MS = 5 * 60_000;
const RENEW_MS = 60_000;

export async function withClaim<T>(
  claims: ClaimRepo,
  key: string,
  holder: string,
  work: { run: () => Promise<T>; elsewhere: () => Promise<T> },
): Promise<T> {
  if (!(await claims.take(key, holder, Date.now() + CLAIM_TTL_MS))) return work.elsewhere();
  const renew = setInterval(() => {
    claims.take(key, holder, Date.now() + CLAIM_TTL_MS).catch(() => undefined);
  }, RENEW_MS);
  renew.unref();
  try {
    return await work.run();
  } finally {
    clearInterval(renew);
    await claims.release(key, holder).catch(() => undefined);
  }
}
