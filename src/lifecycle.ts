/**
 * @module lifecycle
 * Start/stop order of the daemon's services. Services start in order; if one fails to start,
 * those already started are stopped in reverse and the error is raised (the daemon does not
 * half-start). Stop runs in reverse order and waits for each service; a service that fails to
 * stop is logged and the rest still stop.
 */
import type { Logger } from './log';

export interface Service {
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export class Lifecycle {
  private started: Service[] = [];
  private stopping: Promise<void> | null = null;

  constructor(
    private readonly services: Service[],
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    for (const s of this.services) {
      try {
        await s.start();
        this.started.push(s);
        this.log.debug({ service: s.name }, 'service started');
      } catch (err) {
        this.log.error({ service: s.name, err }, 'service failed to start');
        await this.stop();
        throw err;
      }
    }
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      for (const s of this.started.splice(0).reverse()) {
        try {
          await s.stop();
          this.log.debug({ service: s.name }, 'service stopped');
        } catch (err) {
          this.log.error({ service: s.name, err }, 'service failed to stop');
        }
      }
    })();
    return this.stopping;
  }
}
