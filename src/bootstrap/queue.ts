/**
 * @module bootstrap/queue
 * The bootstrap queue: at most `parallelism` runs at once (`bootstrap.parallelism`, like mgmt's
 * `--cconns`), the rest started in arrival order, and one run per host at a time: queueing a
 * host that is already queued or running joins that run. Once a host's run has settled it can
 * be queued again (a re-run after a server became ready, an operator's retry). A slow or dead
 * host holds one slot and never blocks the others.
 */
export class BootstrapQueue<T> {
  private readonly runs = new Map<string, Promise<T>>();
  private readonly waiting: Array<() => void> = [];
  private active = 0;

  constructor(private readonly parallelism: () => number) {}

  /** Whether a run of `name` is queued or running. */
  has(name: string): boolean {
    return this.runs.has(name);
  }

  /** Queues `job` for `name`, or returns the run of `name` already queued or running. */
  run(name: string, job: () => Promise<T>): Promise<T> {
    const cur = this.runs.get(name);
    if (cur) return cur;
    const p = this.slot(job).finally(() => this.runs.delete(name));
    this.runs.set(name, p);
    return p;
  }

  /** Resolves once nothing is queued or running (shutdown, tests). */
  async idle(): Promise<void> {
    while (this.runs.size > 0) await Promise.allSettled([...this.runs.values()]);
  }

  private async slot(job: () => Promise<T>): Promise<T> {
    if (this.active >= this.parallelism()) await new Promise<void>((r) => this.waiting.push(r));
    this.active++;
    try {
      return await job();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }
}
