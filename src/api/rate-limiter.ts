/**
 * Per-workspace ingest rate limit: a token bucket counted in messages, so a batch of 100 costs 100.
 * A refused request learns how long to wait (`Retry-After`), which Segment's clients honour.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Takes `n` tokens for `key`; when there are not enough, returns the seconds to wait instead. */
  take(key: string, n: number): { ok: true } | { ok: false; retryAfterSeconds: number } {
    const now = this.now();
    const bucket = this.buckets.get(key) ?? { tokens: this.burst, at: now };
    bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.perSecond);
    bucket.at = now;
    this.buckets.set(key, bucket);
    // A request larger than the whole burst can never pass: let it through when the bucket is full.
    const cost = Math.min(n, this.burst);
    if (bucket.tokens >= cost) {
      bucket.tokens -= cost;
      return { ok: true };
    }
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((cost - bucket.tokens) / this.perSecond)) };
  }
}
