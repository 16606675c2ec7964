/**
 * Circuit breaker per vendor account, shared by every Lambda (and the sandbox's workers and pollers)
 * through the state table, in the style of the rate limiter (rate-limit.ts): ONE versioned item per
 * key (pk `BREAKER#<vendor>:<host>`, sk `STATE`), changed only by conditional writes.
 *
 * States:
 * - closed: requests go out. Failures (5xx, 408, timeouts, connection errors; NOT other 4xx and NOT
 *   429, which the rate limiter and Retry-After handle) are recorded with their times; when
 *   `failureThreshold` of them fall within `windowSeconds` with no success in between, it opens.
 * - open: requests are refused without being sent (CircuitOpenError, `retryAfterMs` = until the open
 *   period ends). When it ends, the first caller to take the probe lease (a conditional write with an
 *   expiry) becomes the probe.
 * - probing (half-open): the probe's real request is in flight; everyone else is refused. Success (any
 *   answer that is not a failure) closes it and forgets the failures; failure opens it again for twice
 *   the last open period, up to `maxOpenSeconds`. A lease that expires (the prober died) lets the next
 *   caller probe.
 * - paused (closed with `pausedUntilMs`): the vendor answered 429 with a Retry-After (seconds or an
 *   HTTP date). It asks the account to wait, not one request, so every process refuses (the same
 *   CircuitOpenError: the worker holds the event without spending an attempt) until then, for at most
 *   `maxOpenSeconds`; the first request after asks again. Not a failure: it opens nothing.
 *
 * What each request costs in DynamoDB requests (the state is cached in-process for `cacheMs`):
 * - closed, no failure known: 0 (one GetItem per `cacheMs` per process and account, at most);
 * - a failure: 1 GetItem + 1 conditional PutItem (the put also opens the breaker when due; opening
 *   adds one PutItem to the `breakers` set for `status`, and a run-log entry);
 * - the first success after failures this process knows of: 1 GetItem + 1 PutItem (the reset);
 * - refused while open: 0 (the open period is cached until it ends); while probing, 1 GetItem per
 *   `cacheMs`;
 * - the probe: 1 GetItem + 1 PutItem for the lease, 1 PutItem for its result, plus a run-log entry.
 *
 * Across processes the "no success in between" is as each process saw it: a success resets the
 * count only if the succeeding process knew of failures (a cached closed breaker writes nothing).
 * Time is the wall clock (`now`, default Date.now), never the sandbox's manual clock.
 */
import { BreakerStateError, CircuitOpenError, ConfigError } from './errors.ts';
import { parseRetryAfter } from './http.ts';
import { type Log, silentLog } from './log.ts';
import { ConcurrentUpdateError, type StateStore } from './state.ts';

export interface BreakerPolicy {
  /** Failures within `windowSeconds` (no success between them) that open the breaker. */
  failureThreshold: number;
  windowSeconds: number;
  /** The first open period; each failed probe doubles it, up to `maxOpenSeconds`. */
  openSeconds: number;
  maxOpenSeconds: number;
}

export const DEFAULT_BREAKER_POLICY: BreakerPolicy = {
  failureThreshold: 5,
  windowSeconds: 60,
  openSeconds: 30,
  maxOpenSeconds: 300,
};

/** The stored state of one breaker (the item's `doc`). */
export interface BreakerState {
  status: 'closed' | 'open' | 'probing';
  /** Times (ms) of the recent failures, oldest first (at most `failureThreshold`). */
  failures: number[];
  /** open/probing: since when it has been open without a close in between (kept across re-opens). */
  openedAtMs?: number;
  /** open/probing: when the current open period ends (a probe may go then). */
  openUntilMs?: number;
  /** open/probing: the length of the current open period. */
  openMs?: number;
  /** probing: when the probe lease expires (the prober is presumed dead after it). */
  probeUntilMs?: number;
  /** How many failures opened it (the threshold, or 1 for a failed probe). */
  failureCount?: number;
  /** The last failure, in words (e.g. `HTTP 503`, `timeout`). */
  reason?: string;
  /**
   * closed: until when the vendor asked the whole account to wait (a 429's Retry-After, up to
   * `maxOpenSeconds`): every process refuses to send until then, like an open period without a probe.
   */
  pausedUntilMs?: number;
  updatedAtMs: number;
}

/** What one request's outcome means to the breaker. */
export type BreakerOutcome = 'success' | 'failure' | 'neutral';

/** A transition, for the run log, the log and metrics. */
export type BreakerTransition = 'opened' | 'probing' | 'closed' | 're-opened';

export interface BreakerEvents {
  /** Every refusal and every transition (the metric: `CircuitOpen` per vendor; see runtime/metrics.ts). */
  onEvent?: (event: {
    key: string;
    vendor: string;
    kind: 'refused' | BreakerTransition;
    /** Since when it has been open (ms), for refusals and open transitions. */
    openForMs: number;
  }) => void;
}

export interface CircuitBreakerOptions extends BreakerEvents {
  state: StateStore;
  /** `<vendor>:<host>` (one per vendor account, like the Click Maint rate-limit key). */
  key: string;
  policy?: Partial<BreakerPolicy>;
  /** Wall-clock ms (default Date.now), NOT the sandbox's manual clock. */
  now?: () => number;
  /** How long a read of the state is trusted in-process (default 1000 ms). */
  cacheMs?: number;
  /** How long a probe may take before another caller may probe (default 30 s; see `probeLeaseFor`). */
  probeLeaseMs?: number;
  /** The flow whose run log gets the transitions (default BREAKER_RUN_FLOW). */
  flowId?: string;
  log?: Log;
}

/** The run-log "flow" of transitions when the env serves several flows (the sandbox). */
export const BREAKER_RUN_FLOW = 'circuit-breaker';
/** The run-log outcomes of a breaker's transitions (`millwright runs --outcome` accepts them). */
export const BREAKER_RUN_OUTCOMES = ['circuit-open', 'circuit-closed'] as const;
/** The set (state.putMember) listing every breaker that ever opened, for `status`. */
export const BREAKER_SET = 'breakers';
const SK = 'STATE';
const MAX_CONFLICTS = 20;
/** While another caller probes, a refused caller is told to come back after at most this long. */
const PROBING_RETRY_MS = 5000;
export const DEFAULT_PROBE_LEASE_MS = 30_000;
/** Beyond the longest request: the lease write and the result write around it. */
const PROBE_LEASE_MARGIN_MS = 5000;

/**
 * The probe lease for a deployment's vendors: longer than the longest single request any of them may
 * take (`vendors.<v>.timeoutMs`, up to 120 s). A shorter lease would presume a slow probe dead while
 * it is still in flight and let a second caller probe a vendor that is only just recovering.
 */
export function probeLeaseFor(vendors: Record<string, unknown>): number {
  let longest = 0;
  for (const settings of Object.values(vendors)) {
    const timeoutMs = (settings as { timeoutMs?: unknown } | undefined)?.timeoutMs;
    if (typeof timeoutMs === 'number' && Number.isFinite(timeoutMs)) longest = Math.max(longest, timeoutMs);
  }
  return Math.max(DEFAULT_PROBE_LEASE_MS, longest + PROBE_LEASE_MARGIN_MS);
}

export const breakerPk = (key: string): string => `BREAKER#${key}`;
export const breakerKey = (vendor: string, url: string | URL): string => `${vendor}:${new URL(url).host}`;
const vendorOf = (key: string): string => {
  const colon = key.indexOf(':');
  return colon < 0 ? key : key.slice(0, colon);
};

/** The policy with defaults, checked (a bad one is a config error, named by its field). */
export function breakerPolicy(policy: Partial<BreakerPolicy> = {}): BreakerPolicy {
  const p = { ...DEFAULT_BREAKER_POLICY, ...policy };
  const positive = (name: keyof BreakerPolicy) => {
    if (!Number.isFinite(p[name]) || p[name] <= 0) {
      throw new ConfigError(`runtime.circuitBreaker.${name}`, 'must be a positive number');
    }
  };
  positive('windowSeconds');
  positive('openSeconds');
  positive('maxOpenSeconds');
  if (!Number.isInteger(p.failureThreshold) || p.failureThreshold < 1) {
    throw new ConfigError('runtime.circuitBreaker.failureThreshold', 'must be an integer >= 1');
  }
  if (p.maxOpenSeconds < p.openSeconds) {
    throw new ConfigError('runtime.circuitBreaker.maxOpenSeconds', 'must be >= openSeconds');
  }
  return p;
}

/** A permit to send one request; `probe` when this request tests a recovered vendor. */
export interface BreakerTicket {
  probe: boolean;
  /** The item version our lease was written at (probe only). */
  version?: number;
}

const CLOSED = (now: number): BreakerState => ({ status: 'closed', failures: [], updatedAtMs: now });

export class CircuitBreaker {
  readonly key: string;
  readonly vendor: string;
  private readonly state: StateStore;
  private readonly pk: string;
  private readonly policy: BreakerPolicy;
  private readonly now: () => number;
  private readonly cacheMs: number;
  private readonly probeLeaseMs: number;
  private readonly flowId: string;
  private readonly log: Log;
  private readonly onEvent: BreakerEvents['onEvent'];
  /** This process put the account in the `breakers` set already (for a pause). */
  private listed = false;
  private cached: { doc: BreakerState; version: number | undefined; readAtMs: number } | undefined;

  constructor(options: CircuitBreakerOptions) {
    this.key = options.key;
    this.vendor = vendorOf(options.key);
    this.state = options.state;
    this.pk = breakerPk(options.key);
    this.policy = breakerPolicy(options.policy);
    this.now = options.now ?? Date.now;
    this.cacheMs = options.cacheMs ?? 1000;
    this.probeLeaseMs = options.probeLeaseMs ?? DEFAULT_PROBE_LEASE_MS;
    this.flowId = options.flowId ?? BREAKER_RUN_FLOW;
    this.log = options.log ?? silentLog;
    this.onEvent = options.onEvent;
  }

  /** The state as stored (fresh read; refreshes the cache). */
  async read(): Promise<{ doc: BreakerState; version: number | undefined }> {
    const now = this.now();
    const stored = await this.state.getVersioned<BreakerState>(this.pk, SK);
    const entry = { doc: stored?.data ?? CLOSED(now), version: stored?.version, readAtMs: now };
    this.cached = entry;
    return entry;
  }

  /** The cached state when it is still good for a decision at `now`, else a fresh read. */
  private async current(now: number): Promise<{ doc: BreakerState; version: number | undefined }> {
    const c = this.cached;
    if (c && now >= c.readAtMs) {
      // An open period cannot end early (only a probe after it closes the breaker): trust it until then.
      if (c.doc.status === 'open' && (c.doc.openUntilMs ?? 0) > now) return c;
      // Nor can a pause the vendor asked for (only a longer one replaces it).
      if (c.doc.status === 'closed' && (c.doc.pausedUntilMs ?? 0) > now) return c;
      if (now - c.readAtMs < this.cacheMs) return c;
    }
    return this.read();
  }

  private async write(doc: BreakerState, version: number | undefined): Promise<number> {
    const next = await this.state.putVersioned<BreakerState>(this.pk, SK, doc, version);
    this.cached = { doc, version: next, readAtMs: this.now() };
    return next;
  }

  private refuse(doc: BreakerState, now: number, untilMs: number, what: string): CircuitOpenError {
    const retryAfterMs = Math.max(1, untilMs - now);
    this.onEvent?.({
      key: this.key,
      vendor: this.vendor,
      kind: 'refused',
      openForMs: now - (doc.openedAtMs ?? now),
    });
    return new CircuitOpenError(
      this.key,
      retryAfterMs,
      `circuit breaker ${this.key} is ${what} (${doc.reason ?? 'repeated failures'}); not sent, retry in ${retryAfterMs} ms`,
    );
  }

  /**
   * Ask to send one request: a ticket (closed, or this caller took the probe lease), or
   * CircuitOpenError without anything sent.
   */
  async before(): Promise<BreakerTicket> {
    for (let conflicts = 0; ; conflicts++) {
      const now = this.now();
      const { doc, version } = conflicts === 0 ? await this.current(now) : await this.read();
      if (doc.status === 'closed') {
        const pausedUntil = doc.pausedUntilMs ?? 0;
        if (pausedUntil > now) throw this.pausedError(pausedUntil, now);
        return { probe: false };
      }
      const openUntil = doc.openUntilMs ?? 0;
      if (doc.status === 'open' && openUntil > now) {
        throw this.refuse(doc, now, openUntil, `open until ${timeOfDay(openUntil)}`);
      }
      const leaseUntil = doc.probeUntilMs ?? 0;
      if (doc.status === 'probing' && leaseUntil > now) {
        // Come back soon, not at the lease's end: a probe usually answers well before its lease expires.
        const soon = Math.min(leaseUntil, now + PROBING_RETRY_MS);
        throw this.refuse(doc, now, soon, 'probing (another request tests the vendor)');
      }
      // The open period is over (or the last prober died): take the lease and be the probe.
      const expired = doc.status === 'probing';
      const lease: BreakerState = {
        ...doc,
        status: 'probing',
        probeUntilMs: now + this.probeLeaseMs,
        updatedAtMs: now,
      };
      try {
        const written = await this.write(lease, version);
        await this.transition(
          'probing',
          lease,
          now,
          expired ? 'the last probe did not report back' : undefined,
        );
        return { probe: true, version: written };
      } catch (error) {
        if (!(error instanceof ConcurrentUpdateError)) throw error;
        if (conflicts >= MAX_CONFLICTS) throw this.refuse(doc, now, now + 1000, 'contended');
      }
    }
  }

  /** Refused while the vendor's pause lasts: not a breaker event (nothing failed), so no metric. */
  private pausedError(untilMs: number, now: number): CircuitOpenError {
    const retryAfterMs = Math.max(1, untilMs - now);
    return new CircuitOpenError(
      this.key,
      retryAfterMs,
      `${this.key} is paused until ${timeOfDay(untilMs)}: the vendor answered HTTP 429 with Retry-After; not sent, retry in ${retryAfterMs} ms`,
    );
  }

  /**
   * The vendor answered 429 asking to wait `retryAfterMs`: pause the whole account (every process)
   * for that long, at most `maxOpenSeconds` (a garbage or hours-long value must not stop it for good:
   * the first request after asks again). Never throws, like `after`.
   */
  async pause(retryAfterMs: number): Promise<void> {
    const now = this.now();
    const untilMs = now + Math.min(retryAfterMs, this.policy.maxOpenSeconds * 1000);
    try {
      for (let attempt = 1; ; attempt++) {
        const { doc, version } = await this.read();
        // An open breaker already holds every request; a longer pause already stored stands.
        if (doc.status !== 'closed' || (doc.pausedUntilMs ?? 0) >= untilMs) return;
        try {
          await this.write({ ...doc, pausedUntilMs: untilMs, updatedAtMs: now }, version);
          this.log.info(`${this.key} paused until ${timeOfDay(untilMs)}: HTTP 429 with Retry-After`, {
            key: this.key,
          });
          // Listed for `millwright status` (once per process: the set's member lives for days).
          if (!this.listed) {
            const host = this.key.slice(this.vendor.length + 1);
            await this.state.putMember(BREAKER_SET, this.key, { vendor: this.vendor, host });
            this.listed = true;
          }
          return;
        } catch (error) {
          if (!(error instanceof ConcurrentUpdateError) || attempt >= MAX_CONFLICTS) throw error;
        }
      }
    } catch (error) {
      this.log.warn('circuit breaker: could not record a pause', {
        key: this.key,
        error: (error as Error)?.message ?? String(error),
      });
    }
  }

  /** Report what became of a request sent with `ticket`. Never throws (the request's result matters more). */
  async after(ticket: BreakerTicket, outcome: BreakerOutcome, reason: string): Promise<void> {
    try {
      if (ticket.probe) await this.afterProbe(ticket, outcome, reason);
      else if (outcome === 'failure') await this.recordFailure(reason);
      else if (outcome === 'success' && (this.cached?.doc.failures.length ?? 0) > 0) await this.reset();
    } catch (error) {
      this.log.warn('circuit breaker: could not record a result', {
        key: this.key,
        outcome,
        error: (error as Error)?.message ?? String(error),
      });
    }
  }

  private async recordFailure(reason: string): Promise<void> {
    const windowMs = this.policy.windowSeconds * 1000;
    for (let attempt = 1; ; attempt++) {
      const now = this.now();
      const { doc, version } = await this.read();
      // Open or probing already: this request was in flight when it opened; nothing to add.
      if (doc.status !== 'closed') return;
      const failures = [...doc.failures.filter((t) => now - t < windowMs && t <= now), now].slice(
        -this.policy.failureThreshold,
      );
      const opens = failures.length >= this.policy.failureThreshold;
      const openMs = this.policy.openSeconds * 1000;
      const next: BreakerState = opens
        ? {
            status: 'open',
            failures: [],
            openedAtMs: now,
            openUntilMs: now + openMs,
            openMs,
            failureCount: failures.length,
            reason,
            updatedAtMs: now,
          }
        : { ...paused(doc), status: 'closed', failures, reason, updatedAtMs: now };
      try {
        await this.write(next, version);
        if (opens) await this.transition('opened', next, now);
        return;
      } catch (error) {
        if (!(error instanceof ConcurrentUpdateError) || attempt >= MAX_CONFLICTS) throw error;
      }
    }
  }

  /** A success after failures: forget them (only when still closed; an open breaker closes by a probe). */
  private async reset(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const now = this.now();
      const { doc, version } = await this.read();
      if (doc.status !== 'closed' || doc.failures.length === 0) return;
      try {
        await this.write({ ...CLOSED(now), ...paused(doc) }, version);
        return;
      } catch (error) {
        if (!(error instanceof ConcurrentUpdateError) || attempt >= MAX_CONFLICTS) throw error;
      }
    }
  }

  private async afterProbe(_ticket: BreakerTicket, outcome: BreakerOutcome, reason: string): Promise<void> {
    // Our lease write's result (or a later read of this process), else a fresh read.
    let { doc, version } = this.cached ?? (await this.read());
    for (let attempt = 1; ; attempt++) {
      const now = this.now();
      if (attempt > 1) ({ doc, version } = await this.read());
      // Any answer that is not a failure (2xx, 4xx, 429) means the vendor is back.
      if (outcome !== 'failure') {
        if (doc.status === 'closed') return;
        const closed = CLOSED(now);
        try {
          await this.write(closed, version);
          await this.transition('closed', doc, now);
          return;
        } catch (error) {
          if (!(error instanceof ConcurrentUpdateError) || attempt >= MAX_CONFLICTS) throw error;
          continue;
        }
      }
      // Another prober already re-opened or closed it (our lease had expired): its word stands.
      if (doc.status !== 'probing') return;
      const openMs = Math.min(
        2 * (doc.openMs ?? this.policy.openSeconds * 1000),
        this.policy.maxOpenSeconds * 1000,
      );
      const { probeUntilMs: _lease, ...rest } = doc;
      const reopened: BreakerState = {
        ...rest,
        status: 'open',
        openUntilMs: now + openMs,
        openMs,
        failureCount: 1,
        reason,
        updatedAtMs: now,
      };
      try {
        await this.write(reopened, version);
        await this.transition('re-opened', reopened, now);
        return;
      } catch (error) {
        if (!(error instanceof ConcurrentUpdateError) || attempt >= MAX_CONFLICTS) throw error;
      }
    }
  }

  /** Log, run-log and metric for one transition (the run log is best effort: never fails the request). */
  private async transition(
    kind: BreakerTransition,
    doc: BreakerState,
    now: number,
    why?: string,
  ): Promise<void> {
    const host = this.key.slice(this.vendor.length + 1);
    const openFor = Math.max(0, now - (doc.openedAtMs ?? now));
    const until = doc.openUntilMs !== undefined ? timeOfDay(doc.openUntilMs) : '';
    const message =
      kind === 'opened'
        ? `circuit opened for ${this.vendor} at ${host} after ${doc.failureCount} failures within ${this.policy.windowSeconds} s (last: ${doc.reason}); requests held until ${until}`
        : kind === 're-opened'
          ? `circuit re-opened for ${this.vendor} at ${host}: the probe failed (${doc.reason}); requests held until ${until} (open ${Math.round(openFor / 1000)} s so far)`
          : kind === 'probing'
            ? `circuit half-open for ${this.vendor} at ${host}: one probe request goes through${why ? ` (${why})` : ''}`
            : `circuit closed for ${this.vendor} at ${host}: the probe succeeded after ${Math.round(openFor / 1000)} s open`;
    if (kind === 'closed' || kind === 'probing') this.log.info(message, { key: this.key });
    else this.log.warn(message, { key: this.key });
    this.onEvent?.({ key: this.key, vendor: this.vendor, kind, openForMs: kind === 'closed' ? 0 : openFor });
    const at = new Date(now).toISOString();
    try {
      if (kind === 'opened') await this.state.putMember(BREAKER_SET, this.key, { vendor: this.vendor, host });
      await this.state.appendRun({
        flowId: this.flowId,
        eventId: `breaker:${this.key}:${now}:${kind}`,
        eventType: 'circuit-breaker',
        outcome: kind === 'closed' ? BREAKER_RUN_OUTCOMES[1] : BREAKER_RUN_OUTCOMES[0],
        message,
        at,
        subject: this.key,
      });
    } catch (error) {
      this.log.warn('circuit breaker: could not write the run log', {
        key: this.key,
        error: (error as Error)?.message ?? String(error),
      });
    }
  }
}

/** A closed state's pause, to carry over when the state is rewritten. */
const paused = (doc: BreakerState): Pick<BreakerState, 'pausedUntilMs'> =>
  doc.pausedUntilMs !== undefined ? { pausedUntilMs: doc.pausedUntilMs } : {};

/** `HH:MM:SS` UTC of a wall-clock time. */
export const timeOfDay = (ms: number): string => new Date(ms).toISOString().slice(11, 19);

/** What a fetch result means to the breaker: 5xx, 408 and thrown errors are failures; 429 and 4xx are not. */
export function classify(result: { status: number } | { error: unknown }): {
  outcome: BreakerOutcome;
  reason: string;
} {
  if ('error' in result) {
    const name = (result.error as Error)?.name;
    const code = (result.error as { cause?: { code?: string } })?.cause?.code;
    if (name === 'TimeoutError' || name === 'AbortError') return { outcome: 'failure', reason: 'timeout' };
    return { outcome: 'failure', reason: `connection error${code ? ` ${code}` : ''}` };
  }
  const { status } = result;
  if (status >= 500 || status === 408) return { outcome: 'failure', reason: `HTTP ${status}` };
  if (status >= 400) return { outcome: 'neutral', reason: `HTTP ${status}` };
  return { outcome: 'success', reason: `HTTP ${status}` };
}

/** A breaker's options without its key: the transport makes one breaker per vendor account. */
export type BreakerTransportOptions = Omit<CircuitBreakerOptions, 'key'>;

/**
 * Wrap a RuntimeEnv transport: each vendor's requests go through the breaker of `<vendor>:<host>`
 * (one CircuitBreaker per key, kept for the life of the transport, so its cache is shared by every
 * client of the process).
 */
export function breakerTransport(
  options: BreakerTransportOptions,
  inner: (vendor: string) => typeof fetch = () => fetch,
): (vendor: string) => typeof fetch {
  const breakers = new Map<string, CircuitBreaker>();
  const now = options.now ?? Date.now;
  const breakerFor = (key: string) => {
    let breaker = breakers.get(key);
    if (!breaker) {
      breaker = new CircuitBreaker({ ...options, key });
      breakers.set(key, breaker);
    }
    return breaker;
  };
  return (vendor) => {
    const send = inner(vendor);
    const guarded = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
      const url = input instanceof Request ? input.url : String(input);
      const breaker = breakerFor(breakerKey(vendor, url));
      let ticket: BreakerTicket;
      try {
        ticket = await breaker.before();
      } catch (error) {
        // Nothing was sent: say so, or a POST's client would take it for an unanswered write.
        if (error instanceof CircuitOpenError) throw error;
        throw new BreakerStateError(breaker.key, { cause: error });
      }
      let response: Response;
      try {
        response = await send(input, init);
      } catch (error) {
        const { outcome, reason } = classify({ error });
        await breaker.after(ticket, outcome, reason);
        throw error;
      }
      const { outcome, reason } = classify(response);
      await breaker.after(ticket, outcome, reason);
      // A 429 asks the account, not this one request, to wait (seconds or an HTTP date).
      if (response.status === 429) {
        const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), now());
        if (retryAfterMs !== undefined && retryAfterMs > 0) await breaker.pause(retryAfterMs);
      }
      return response;
    };
    return guarded as typeof fetch;
  };
}

/** A breaker's state as `status` shows it. */
export interface BreakerStatus {
  key: string;
  vendor: string;
  host: string;
  status: 'closed' | 'open' | 'probing';
  /** open: when the next probe may go (ISO). */
  openUntil?: string;
  /** open/probing: since when (ISO). */
  openedAt?: string;
  /** open: failures that opened it (or 1 after a failed probe). */
  failures?: number;
  /** closed: failures recorded in the current window. */
  recentFailures?: number;
  /** closed: the vendor asked the account to wait until then (a 429's Retry-After; ISO). */
  pausedUntil?: string;
  reason?: string;
}

/** Every breaker that ever opened (within the set's TTL), as stored now. */
export async function listBreakers(state: StateStore, now = Date.now()): Promise<BreakerStatus[]> {
  const members = await state.listMembers<{ vendor: string; host: string }>(BREAKER_SET);
  const out: BreakerStatus[] = [];
  for (const { id, data } of members) {
    const stored = await state.getVersioned<BreakerState>(breakerPk(id), SK);
    const doc = stored?.data;
    const base = { key: id, vendor: data.vendor, host: data.host };
    if (!doc || doc.status === 'closed') {
      const paused = (doc?.pausedUntilMs ?? 0) > now;
      out.push({
        ...base,
        status: 'closed',
        recentFailures: doc?.failures.length ?? 0,
        ...(paused ? { pausedUntil: new Date(doc?.pausedUntilMs ?? 0).toISOString() } : {}),
      });
      continue;
    }
    out.push({
      ...base,
      status: doc.status,
      ...(doc.openUntilMs !== undefined ? { openUntil: new Date(doc.openUntilMs).toISOString() } : {}),
      ...(doc.openedAtMs !== undefined ? { openedAt: new Date(doc.openedAtMs).toISOString() } : {}),
      ...(doc.failureCount !== undefined ? { failures: doc.failureCount } : {}),
      ...(doc.reason ? { reason: doc.reason } : {}),
    });
  }
  return out;
}

/** One line per breaker: `closed` (or paused until), `open until HH:MM:SS after N failures (why)`, `probing`. */
export function describeBreaker(b: BreakerStatus): string {
  if (b.status === 'closed' && b.pausedUntil)
    return `closed, paused until ${b.pausedUntil.slice(11, 19)} (the vendor answered 429 with Retry-After)`;
  if (b.status === 'closed') return 'closed';
  if (b.status === 'probing')
    return `probing (one request tests the vendor; open since ${b.openedAt?.slice(11, 19)})`;
  return `open until ${b.openUntil?.slice(11, 19)} after ${b.failures ?? '?'} failure${b.failures === 1 ? '' : 's'}${b.reason ? ` (${b.reason})` : ''}`;
}
