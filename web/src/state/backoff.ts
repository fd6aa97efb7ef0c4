/**
 * Jittered exponential backoff for reconnects and send retries.
 *
 * delay(n) = d/2 + random * d/2, where d = min(max, base * factor^n):
 * "equal jitter" keeps a floor (no hammering at 0 ms) while spreading clients
 * that lost the same server apart, so a restart is not followed by a stampede.
 */
export interface BackoffOptions {
  baseMs?: number;
  maxMs?: number;
  factor?: number;
  random?: () => number;
}

export class Backoff {
  readonly baseMs: number;
  readonly maxMs: number;
  readonly factor: number;
  private readonly random: () => number;
  private attemptCount = 0;

  constructor(options: BackoffOptions = {}) {
    this.baseMs = options.baseMs ?? 500;
    this.maxMs = options.maxMs ?? 15_000;
    this.factor = options.factor ?? 2;
    this.random = options.random ?? Math.random;
    if (!(this.baseMs > 0) || !(this.maxMs >= this.baseMs) || !(this.factor >= 1)) {
      throw new RangeError('invalid backoff options');
    }
  }

  /** Number of delays handed out since the last reset. */
  get attempts(): number {
    return this.attemptCount;
  }

  /** Upper bound of the delay for attempt n (0-based), before jitter. */
  ceiling(n: number): number {
    // Compute in a way that cannot overflow to Infinity/NaN for large n.
    const exp = Math.min(n, 64);
    return Math.min(this.maxMs, this.baseMs * Math.pow(this.factor, exp));
  }

  /** The delay before the next attempt; advances the attempt counter. */
  next(): number {
    const d = this.ceiling(this.attemptCount);
    this.attemptCount += 1;
    let r = this.random();
    if (!(r >= 0)) r = 0;
    if (r > 1) r = 1;
    return Math.round(d / 2 + (r * d) / 2);
  }

  reset(): void {
    this.attemptCount = 0;
  }
}
