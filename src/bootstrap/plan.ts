/**
 * @module bootstrap/plan
 * A plan is an ordered list of named, idempotent steps. Each step has a deadline and bounded
 * retries; a step reports whether it changed anything, so a second run of a converged plan
 * reports `changed: false` everywhere. A host-key mismatch is never retried (it is not a
 * transient fault), nor a missing k3s server (the step already waited for one), nor a missing
 * k3s bundle. Step output
 * is streamed to the host's timeline and the log, with every known secret redacted first.
 */
import { ErrorCode, KickstandError, isKickstandError } from '../errors';
import { redactSecrets, type Logger } from '../log';
import type { EventRepo } from '../store/store';
import type { ExecOptions, ExecResult, SshSession } from './ssh';

export interface StepContext {
  readonly host: string;
  /** Runs a command on the node over the (re)opened session; output goes to the timeline. */
  exec(command: string, opts?: { stdin?: string; timeoutMs?: number }): Promise<ExecResult>;
  /** Facts gathered by earlier steps (preflight). */
  readonly facts: Record<string, string>;
}

export interface StepOutcome {
  changed: boolean;
  /** One line for the timeline, never a secret. */
  detail?: string;
}

export interface Step {
  name: string;
  timeoutMs?: number;
  retries?: number;
  run(ctx: StepContext): Promise<StepOutcome>;
}

export interface PlanDeps {
  events: Pick<EventRepo, 'append'>;
  log: Logger;
  /** Opens a pinned session to the host (a fresh one after a failed attempt). */
  open(): Promise<SshSession>;
  /** Secrets scrubbed from any output before it is stored or logged. */
  secrets: () => readonly string[];
  defaults: { timeoutMs: number; retries: number; retryDelayMs: number };
}

export interface StepReport {
  name: string;
  changed: boolean;
  attempts: number;
  ms: number;
  detail?: string;
}

export interface PlanReport {
  ok: boolean;
  steps: StepReport[];
  changed: number;
  error?: KickstandError;
}

/**
 * Failures a retry cannot fix: a host-key mismatch is not transient, a missing k3s server
 * was already waited for (steps.ts waitForServer), and a missing k3s bundle needs the operator.
 */
const FINAL_CODES = new Set<string>([ErrorCode.HOST_KEY_MISMATCH, ErrorCode.K3S_NO_SERVER, ErrorCode.K3S_NO_BUNDLE]);

/** Runs `steps` in order; stops at the first step that fails all its attempts. */
export async function runPlan(host: string, steps: readonly Step[], deps: PlanDeps): Promise<PlanReport> {
  const report: PlanReport = { ok: true, steps: [], changed: 0 };
  const facts: Record<string, string> = {};
  let session: SshSession | undefined;
  const log = deps.log.child({ host });
  try {
    for (const step of steps) {
      const retries = step.retries ?? deps.defaults.retries;
      const t0 = Date.now();
      for (let attempt = 1; ; attempt++) {
        try {
          if (!session?.isOpen) session = await deps.open();
          const ctx = stepContext(host, step.name, session, facts, deps, log);
          const out = await withDeadline(
            step.run(ctx),
            step.timeoutMs ?? deps.defaults.timeoutMs,
            () => session?.close(),
            `${step.name} on ${host}`,
          );
          const r: StepReport = {
            name: step.name,
            changed: out.changed,
            attempts: attempt,
            ms: Date.now() - t0,
            ...(out.detail ? { detail: out.detail } : {}),
          };
          report.steps.push(r);
          if (out.changed) report.changed++;
          await deps.events.append({
            host,
            kind: 'bootstrap.step',
            message: `${step.name}: ${out.changed ? 'changed' : 'ok, no change'}${out.detail ? ` (${redact(out.detail, deps)})` : ''}`,
            data: { step: step.name, changed: out.changed, attempts: attempt, ms: r.ms },
          });
          log.info({ step: step.name, changed: out.changed, attempts: attempt, ms: r.ms }, 'bootstrap step done');
          break;
        } catch (e) {
          const err = asError(e, step.name, host);
          const final = attempt > retries || FINAL_CODES.has(err.code);
          const msg = redact(err.message, deps);
          await deps.events.append({
            host,
            kind: 'bootstrap.step',
            level: final ? 'error' : 'warn',
            message: `${step.name}: attempt ${attempt} failed: ${msg}${final ? '' : '; retrying'}`,
            data: { step: step.name, attempt, code: err.code },
          });
          log.warn({ step: step.name, attempt, code: err.code, error: msg }, 'bootstrap step failed');
          session?.close();
          session = undefined;
          if (final) {
            report.ok = false;
            report.error = new KickstandError(err.code, `step ${step.name} failed: ${msg}`, { fix: err.fix });
            return report;
          }
          await sleep(deps.defaults.retryDelayMs * attempt);
        }
      }
    }
    return report;
  } finally {
    session?.close();
  }
}

function stepContext(
  host: string,
  step: string,
  session: SshSession,
  facts: Record<string, string>,
  deps: PlanDeps,
  log: Logger,
): StepContext {
  return {
    host,
    facts,
    exec: async (command, opts = {}) => {
      const lines = new LineSplitter(async (stream, line) => {
        const text = redact(line, deps);
        log.debug({ step, stream, line: text }, 'bootstrap output');
        await deps.events.append({
          host,
          kind: 'bootstrap.output',
          message: text.slice(0, 500),
          data: { step, stream },
        });
      });
      const eo: ExecOptions = {
        timeoutMs: opts.timeoutMs ?? deps.defaults.timeoutMs,
        onOutput: (s, t) => lines.push(s, t),
        maxOutput: 256 * 1024,
      };
      if (opts.stdin !== undefined) eo.stdin = opts.stdin;
      const r = await session.exec(command, eo);
      await lines.flush();
      if (r.code !== 0) {
        throw new KickstandError(
          ErrorCode.BOOTSTRAP_FAILED,
          `command exited with ${r.code ?? `signal ${r.signal}`}: ${lastLine(r.stderr || r.stdout)}`,
        );
      }
      return r;
    },
  };
}

/** Splits streamed chunks into lines; output events keep their order. */
class LineSplitter {
  private buf = { stdout: '', stderr: '' };
  private chain: Promise<void> = Promise.resolve();
  private count = 0;

  constructor(private readonly emit: (stream: 'stdout' | 'stderr', line: string) => Promise<void>) {}

  push(stream: 'stdout' | 'stderr', text: string): void {
    this.buf[stream] += text;
    let i: number;
    while ((i = this.buf[stream].indexOf('\n')) >= 0) {
      const line = this.buf[stream].slice(0, i);
      this.buf[stream] = this.buf[stream].slice(i + 1);
      this.queue(stream, line);
    }
  }

  async flush(): Promise<void> {
    for (const s of ['stdout', 'stderr'] as const) if (this.buf[s]) this.queue(s, this.buf[s]);
    this.buf = { stdout: '', stderr: '' };
    await this.chain;
  }

  private queue(stream: 'stdout' | 'stderr', line: string): void {
    // At most 200 output events per command: a chatty installer must not flood the timeline.
    if (line.trim() === '' || ++this.count > 200) return;
    this.chain = this.chain.then(() => this.emit(stream, line)).catch(() => undefined);
  }
}

function redact(text: string, deps: PlanDeps): string {
  return redactSecrets(text, deps.secrets());
}

function lastLine(s: string): string {
  return s.trim().split('\n').pop()?.slice(0, 300) ?? '';
}

function asError(e: unknown, step: string, host: string): KickstandError {
  if (isKickstandError(e)) return e;
  return new KickstandError(ErrorCode.BOOTSTRAP_FAILED, `${step} on ${host}: ${(e as Error).message}`, { cause: e });
}

function withDeadline<T>(p: Promise<T>, ms: number, onTimeout: () => void, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout();
      reject(new KickstandError(ErrorCode.BOOTSTRAP_FAILED, `${what} did not finish within ${ms} ms`));
    }, ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
