/**
 * Retries for remote requests: exponential backoff with full jitter (so many clients retrying after
 * the same outage do not stampede together) and a timeout per attempt, enforced by an AbortSignal
 * handed to the request.
 */

export interface RetryPolicy {
  /** Total attempts including the first (default 4). */
  attempts?: number;
  /** First backoff ceiling in ms; doubles each retry (default 200). */
  baseDelayMs?: number;
  /** Largest backoff ceiling in ms (default 5000). */
  maxDelayMs?: number;
  /** Per-attempt timeout in ms (default 60000). */
  timeoutMs?: number;
}

export interface RetryOptions extends RetryPolicy {
  /** Whether an error is worth another attempt (network trouble, 5xx, throttling). */
  isRetryable: (err: unknown) => boolean;
  /** Called before each retry, e.g. to count retries. */
  onRetry?: (err: unknown, attempt: number) => void;
}

/**
 * Run `fn` until it succeeds, a non-retryable error occurs, or attempts run out (then the last
 * error is thrown). `fn` gets a signal that aborts when its attempt times out.
 *
 * @example
 * const body = await withRetry((signal) => fetch(url, { signal }), { isRetryable: () => true, attempts: 3 });
 */
export async function withRetry<T>(fn: (signal: AbortSignal, attempt: number) => Promise<T>, opts: RetryOptions): Promise<T> {
  const attempts = Math.max(1, opts.attempts ?? 4);
  const base = opts.baseDelayMs ?? 200;
  const max = opts.maxDelayMs ?? 5000;
  const timeoutMs = opts.timeoutMs ?? 60_000;
  for (let attempt = 1; ; attempt++) {
    const signal = AbortSignal.timeout(timeoutMs);
    try {
      return await fn(signal, attempt);
    } catch (err) {
      const timedOut = signal.aborted;
      if (attempt >= attempts || !(timedOut || opts.isRetryable(err))) {
        if (timedOut) throw new RequestTimeoutError(timeoutMs, err);
        throw err;
      }
      opts.onRetry?.(err, attempt);
      const ceiling = Math.min(max, base * 2 ** (attempt - 1));
      await sleep(Math.random() * ceiling);
    }
  }
}

/** Thrown when the last attempt ran out of time. */
export class RequestTimeoutError extends Error {
  constructor(
    readonly timeoutMs: number,
    cause: unknown,
  ) {
    super(`request timed out after ${timeoutMs} ms`, { cause });
    this.name = 'RequestTimeoutError';
  }
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/**
 * True for errors that mean "the network or server had trouble", not "the request was wrong".
 * Looks at `code`, `errno` names and the HTTP status the AWS SDK attaches as `$metadata`.
 * @example isTransientError(Object.assign(new Error('x'), { code: 'ECONNRESET' })) // true
 */
export function isTransientError(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const any = e as { code?: string; name?: string; $metadata?: { httpStatusCode?: number }; $retryable?: unknown };
    if (any.code && NETWORK_CODES.has(any.code)) return true;
    if (any.name === 'TimeoutError' || any.name === 'AbortError' || any.name === 'RequestTimeout') return true;
    if (any.name === 'SlowDown' || any.name === 'ThrottlingException' || any.name === 'InternalError') return true;
    if (any.$retryable) return true;
    const status = any.$metadata?.httpStatusCode;
    if (status !== undefined && (status >= 500 || status === 429 || status === 408)) return true;
    if (e instanceof Error && /ECONNREFUSED|ECONNRESET|socket hang up|EPIPE/.test(e.message)) return true;
  }
  return false;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
