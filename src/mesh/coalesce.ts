/**
 * @module mesh/coalesce
 * Runs an async job so that requests arriving while it runs are served by exactly one more
 * run afterwards (not one each): N hosts joining at once cost two mesh-wide syncs, not N.
 * Every caller's promise resolves after a run that started after its request.
 */
export class Coalescer {
  private running: Promise<void> | null = null;
  private pending: Promise<void> | null = null;

  constructor(private readonly job: () => Promise<void>) {}

  request(): Promise<void> {
    if (!this.running) {
      this.running = this.job().finally(() => (this.running = null));
      return this.running;
    }
    this.pending ??= this.running
      .catch(() => undefined)
      .then(() => {
        this.pending = null;
        return this.request();
      });
    return this.pending;
  }
}
