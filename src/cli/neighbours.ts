/**
 * Whether the parts a proxy relies on answer at start: the decision service (its `/readyz`)
 * and the upstream (any HTTP answer). A proxy that starts beside a wrong `--warden` URL
 * would otherwise look healthy and deny every request `pdp_unavailable`.
 */
export interface Neighbours {
  /** The remote decision service's base URL, when the proxy does not decide in process. */
  readonly warden: string | undefined;
  readonly upstream: string;
  readonly timeoutMs: number;
}

/** One line per neighbour that does not answer, naming it, what follows, and the setting. */
export async function unansweredNeighbours(neighbours: Neighbours): Promise<string[]> {
  const problems: string[] = [];
  const { warden, upstream, timeoutMs } = neighbours;
  if (warden !== undefined) {
    const ready = new URL('/readyz', warden);
    const why = await answerProblem(ready, timeoutMs, (status) => status === 200);
    if (why !== null) {
      problems.push(
        `the decision service at ${warden} ${why}: every request will be denied pdp_unavailable until it ` +
          'answers (--warden, proxy.warden.url)',
      );
    }
  }
  const why = await answerProblem(new URL(upstream), timeoutMs, () => true);
  if (why !== null) {
    problems.push(`the upstream at ${upstream} ${why}: allowed requests will fail (--upstream, proxy.upstream.url)`);
  }
  return problems;
}

async function answerProblem(url: URL, timeoutMs: number, ok: (status: number) => boolean): Promise<string | null> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'manual' });
    await response.body?.cancel();
    return ok(response.status) ? null : `answers ${response.status} on ${url.pathname}`;
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code;
    return `does not answer (${cause ?? (err as Error).name})`;
  }
}
