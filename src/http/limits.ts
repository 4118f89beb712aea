/**
 * HTTP request limits of one process: requests per client IP per minute and requests in flight.
 * (Body and upload sizes are checked by the middleware from these config values.)
 */
import { ipKey } from "../net/conn-limits.ts";

export interface HttpLimits {
  maxBodySize: number;
  maxUploadSize: number;
  /** per client IP (ipKey, as the connection limits count) per minute; 0 = unlimited */
  requestsPerMinute: number;
  /** in flight in this process; 0 = unlimited */
  maxConcurrentRequests: number;
}

/**
 * Fixed one-minute windows per IP key: memory is the number of distinct clients in the current
 * window (the map is dropped at each new window), one Map update per request.
 */
export class RateLimiter {
  private window = 0;
  private counts = new Map<string, number>();
  private readonly limit: number;
  private readonly now: () => number;
  private readonly windowMs: number;

  constructor(limit: number, now: () => number = Date.now, windowMs = 60_000) {
    this.limit = limit;
    this.now = now;
    this.windowMs = windowMs;
  }

  /** 0 = allowed (and counted); else seconds until the window ends (Retry-After). */
  take(addr: string): number {
    if (this.limit <= 0) return 0;
    const t = this.now();
    const w = Math.floor(t / this.windowMs);
    if (w !== this.window) {
      this.window = w;
      this.counts = new Map();
    }
    const key = ipKey(addr);
    const n = (this.counts.get(key) ?? 0) + 1;
    if (n > this.limit) return Math.max(1, Math.ceil(((w + 1) * this.windowMs - t) / 1000));
    this.counts.set(key, n);
    return 0;
  }
}

/** Requests in flight, bounded. */
export class ConcurrencyGate {
  private active = 0;
  private readonly max: number;
  constructor(max: number) {
    this.max = max;
  }
  /** false = at the limit (the caller answers 503) */
  enter(): boolean {
    if (this.max > 0 && this.active >= this.max) return false;
    this.active++;
    return true;
  }
  leave(): void {
    if (this.active > 0) this.active--;
  }
  get inFlight(): number {
    return this.active;
  }
}
