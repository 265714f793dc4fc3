import autocannon from 'autocannon';

export interface LoadTarget {
  readonly name: string;
  readonly url: string;
  readonly method: 'GET' | 'POST';
  readonly body?: string;
  /** A response whose body fails this counts as a mismatch. */
  readonly expectInBody: string;
}

export interface LoadOptions {
  connections: number;
  pipelining: number;
  durationSeconds: number;
}

export interface LoadRun {
  readonly requestsPerSecond: number;
  /** Latency percentiles in milliseconds, over every response of the run. */
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly responses: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly timeouts: number;
  /** 2xx answers whose body lacked `expectInBody`. */
  readonly mismatches: number;
}

/** One autocannon run against `target`. */
export async function runLoad(target: LoadTarget, options: LoadOptions): Promise<LoadRun> {
  const latencies: number[] = [];
  const instance = autocannon({
    url: target.url,
    method: target.method,
    ...(target.body === undefined ? {} : { body: target.body, headers: { 'content-type': 'application/json' } }),
    connections: options.connections,
    pipelining: options.pipelining,
    duration: options.durationSeconds,
    verifyBody: (body) => body.includes(target.expectInBody),
  });
  // autocannon's own histogram has 1 ms resolution; keep the exact times instead.
  instance.on('response', (_client, _status, _bytes, ms) => void latencies.push(ms));
  const result = await instance;
  latencies.sort((a, b) => a - b);
  return {
    requestsPerSecond: result.requests.total / result.duration,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
    responses: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    mismatches: result.mismatches,
  };
}

/** Nearest-rank percentile of an ascending list; 0 for an empty one. */
function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] as number;
}
