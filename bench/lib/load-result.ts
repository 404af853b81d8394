import { summarize, type LatencySummary } from './stats.js';

/** What one load run measured. Latencies in ms; rates per second. */
export interface LoadResult {
  mode: 'closed' | 'open' | 'async';
  /** concurrent clients (closed loop) */
  concurrency?: number;
  /** scheduled arrival rate (open loop) */
  offeredRate?: number;
  durationS: number;
  /** successful answers measured (closed loop: completed in the window; open loop: scheduled in it) */
  requests: number;
  errors: number;
  /**
   * successful answers completed inside the measured window, per second (achieved throughput); in an
   * open loop those of warm-up arrivals included, so that in a steady state it equals the arrival rate
   * whatever the latency (only the window's own arrivals would fall short by rate × latency)
   */
  rps: number;
  latency: LatencySummary;
  /** client process CPU (user + system) per request sent, ms: what the generator itself costs */
  clientCpuMsPerRequest: number;
  /** CPU of the system under test per answered request, ms (set by bench/lib/suite.ts) */
  serverCpuMsPerRequest?: number;
  /** open loop: how late the client sent versus the schedule, p99 ms (the client keeping up) */
  sendLagP99Ms?: number;
  /** a few error messages with their counts */
  errorKinds: Record<string, number>;
  /** open loop: requests scheduled inside the window, per second (the arrivals that actually came) */
  arrivalRate?: number;
  /** set when each request carried several images: requests, errors and rates above count images */
  imagesPerRequest?: number;
}

/** Collects per-request outcomes inside a measurement window. */
export class WindowRecorder {
  private readonly latencies: number[] = [];
  private readonly sendLags: number[] = [];
  private errorCount = 0;
  private completedInWindow = 0;
  private sent = 0;
  readonly errorKinds: Record<string, number> = {};
  private cpuStart: NodeJS.CpuUsage | undefined;

  constructor(
    readonly windowStart: number,
    readonly windowEnd: number,
  ) {}

  /** call once when the window opens */
  startCpu(): void {
    this.cpuStart = process.cpuUsage();
  }

  sendLag(ms: number): void {
    this.sendLags.push(ms);
  }

  countSent(): void {
    this.sent++;
  }

  inWindow(t: number): boolean {
    return t >= this.windowStart && t <= this.windowEnd;
  }

  /** a good answer that arrived at `doneAt` after `latencyMs` */
  success(latencyMs: number, doneAt: number): void {
    this.latencies.push(latencyMs);
    this.completion(doneAt);
  }

  /** a good answer to a request sent before the window (warm-up): counts only towards the window's throughput */
  completion(doneAt: number): void {
    if (this.inWindow(doneAt)) this.completedInWindow++;
  }

  error(kind: string): void {
    this.errorCount++;
    const key = kind.slice(0, 120);
    this.errorKinds[key] = (this.errorKinds[key] ?? 0) + 1;
  }

  finish(base: Pick<LoadResult, 'mode' | 'concurrency' | 'offeredRate'>): LoadResult {
    const cpu = this.cpuStart ? process.cpuUsage(this.cpuStart) : { user: 0, system: 0 };
    const durationS = (this.windowEnd - this.windowStart) / 1000;
    return {
      ...base,
      durationS,
      requests: this.latencies.length,
      errors: this.errorCount,
      rps: this.completedInWindow / durationS,
      latency: summarize(this.latencies),
      clientCpuMsPerRequest: this.sent ? (cpu.user + cpu.system) / 1000 / this.sent : Number.NaN,
      errorKinds: this.errorKinds,
      ...(this.sendLags.length ? { sendLagP99Ms: summarize(this.sendLags).p99 } : {}),
      ...(base.mode !== 'closed' ? { arrivalRate: this.sent / durationS } : {}),
    };
  }
}
