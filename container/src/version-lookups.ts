/**
 * What a model server remembers about versions it looked up in the registry and did not host: a refusal is
 * answered from memory for a while, and lookups of versions it has not seen are rate-limited. A request can
 * name any version that looks valid, so without both a caller could make every request cost an S3 read
 * (one per distinct version every NOT_REGISTERED_TTL_MS) and grow the memory without end.
 */

/** How long a version found not registered (or failing to load) is answered from memory before S3 is asked again. */
export const NOT_REGISTERED_TTL_MS = 30_000;
/** Refusals remembered at once; past it the least recently named is forgotten first. */
export const MAX_REFUSED_VERSIONS = 256;
/** Registry lookups a process may start in a burst; beyond it a new version is 404 without an S3 read. */
export const LOOKUP_BURST = 10;
/** One more lookup is allowed every this many milliseconds, up to LOOKUP_BURST. */
export const LOOKUP_REFILL_MS = 3_000;

export interface VersionLookupsOptions {
  /** @default MAX_REFUSED_VERSIONS */
  readonly maxRefused?: number;
  /** @default LOOKUP_BURST */
  readonly burst?: number;
  /** @default LOOKUP_REFILL_MS */
  readonly refillMs?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

export class VersionLookups {
  /** Insertion order is recency: a hit moves the entry to the end, the first entry is the least recent. */
  private readonly refusals = new Map<string, { error: unknown; at: number }>();
  private readonly maxRefused: number;
  private readonly burst: number;
  private readonly refillMs: number;
  private readonly now: () => number;
  private tokens: number;
  private refilledAt: number;

  constructor(opts: VersionLookupsOptions = {}) {
    this.maxRefused = opts.maxRefused ?? MAX_REFUSED_VERSIONS;
    this.burst = opts.burst ?? LOOKUP_BURST;
    this.refillMs = opts.refillMs ?? LOOKUP_REFILL_MS;
    this.now = opts.now ?? Date.now;
    this.tokens = this.burst;
    this.refilledAt = this.now();
  }

  /** The error `version` was refused with, while that is recent; undefined otherwise. */
  refusal(version: string): unknown {
    const r = this.refusals.get(version);
    if (r === undefined) return undefined;
    this.refusals.delete(version);
    if (this.now() - r.at >= NOT_REGISTERED_TTL_MS) return undefined;
    this.refusals.set(version, r);
    return r.error;
  }

  refuse(version: string, error: unknown): void {
    this.refusals.delete(version);
    this.refusals.set(version, { error, at: this.now() });
    for (const oldest of this.refusals.keys()) {
      if (this.refusals.size <= this.maxRefused) break;
      this.refusals.delete(oldest);
    }
  }

  /** Forgets a refusal (the version loaded after all). */
  forget(version: string): void {
    this.refusals.delete(version);
  }

  get refusedCount(): number {
    return this.refusals.size;
  }

  /** Takes one lookup from the budget; false when it is spent (the caller answers without asking S3). */
  allowLookup(): boolean {
    const now = this.now();
    const earned = Math.floor((now - this.refilledAt) / this.refillMs);
    if (earned > 0) {
      this.tokens = Math.min(this.burst, this.tokens + earned);
      this.refilledAt = this.tokens === this.burst ? now : this.refilledAt + earned * this.refillMs;
    }
    if (this.tokens === 0) return false;
    this.tokens--;
    return true;
  }
}
