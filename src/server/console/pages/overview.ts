import type { SealedRecord } from '../../../audit/chain.ts';
import type { CoreDeps } from '../../../decision/deps.ts';
import { html } from '../../web/html.ts';
import { lineChart, stackedBars } from '../charts.ts';
import { page, when } from '../layout.ts';
import type { PageAnswer, PageContext } from '../plugin.ts';
import { aliveSeries, decisionSeries, hourBuckets, type Window } from '../series.ts';

/** Hours the charts cover. */
const HOURS = 24;
/** Most records a chart reads: beyond, it says it is partial. */
const MAX_RECORDS = 100_000;

/** `GET /`: the policy in force, the trail's integrity at a glance, decisions and sessions over time. */
export async function overviewPage(ctx: PageContext): Promise<PageAnswer> {
  const { core } = ctx;
  const now = core.clock();
  const window: Window = { end: now, hours: HOURS };
  const buckets = hourBuckets(window);
  const decisions = await recentDecisions(core, new Date(buckets.starts[0]!).toISOString());
  const series = decisionSeries(decisions.records, window);
  const records = await core.sessions.list({}, MAX_RECORDS);
  const alive = aliveSeries(records, window);
  const policy = ctx.reloader.status();
  const integrity = await trailIntegrity(core);
  const body = html`<div class="tiles">
<section class="tile" aria-labelledby="policy-h"><h2 id="policy-h">Policy</h2><dl>
<dt>Status</dt><dd>${statusText(policy.status)}</dd>
<dt>Revision</dt><dd><code>${policy.revision ?? '—'}</code></dd>
<dt>Signer</dt><dd>${
    policy.signer === null ? html`<span class="warn-text">unsigned</span>` : html`<code>${policy.signer}</code>`
  }</dd>
<dt>Activated</dt><dd>${
    policy.last_activation === null ? '—' : `${policy.last_activation.revision} at ${policy.last_activation.at}`
  }</dd>
<dt>Last rejection</dt><dd>${
    policy.last_error === null
      ? 'none'
      : html`<span class="bad-text">${policy.last_error.at}</span>: ${policy.last_error.message}`
  }</dd>
</dl></section>
<section class="tile" aria-labelledby="trail-h"><h2 id="trail-h">Audit trail</h2><dl>
<dt>Sink</dt><dd>${ctx.options.trail.sink} (${statusText(core.audit.status())})</dd>
<dt>Chain</dt><dd><code>${integrity.chain}</code>, ${integrity.seq} records</dd>
<dt>Head</dt><dd><code>${integrity.hash.slice(0, 16)}…</code></dd>
<dt>Checkpoints</dt><dd>${integrity.checkpoints}${
    integrity.lastSize === null ? '' : `, the last at size ${integrity.lastSize}`
  }</dd>
<dt>Witnesses</dt><dd>${
    ctx.options.trail.witnesses.length === 0
      ? html`<span class="warn-text">none configured</span>`
      : `${ctx.options.trail.witnesses.join(', ')}; ${integrity.cosignatures} cosignature(s) on the last checkpoint${
          ctx.options.trail.requireWitness ? ', required' : ''
        }`
  }</dd>
</dl>
<p>Re-check it offline, trusting only this key (in a file, <code>auditors.vkeys</code>):</p>
<pre>${ctx.options.trail.vkey() ?? 'no checkpoint key yet'}</pre>
<pre>mcp-warden audit verify --keys auditors.vkeys${
    ctx.options.trail.witnesses.length === 0 ? '' : ` --witness ${ctx.options.trail.witnesses[0]}`
  }</pre></section>
<section class="tile" aria-labelledby="state-h"><h2 id="state-h">Now</h2><dl>
<dt>Live state</dt><dd>${alive.at(-1) ?? 0} records <a href="${ctx.frame.mount}/state">(list)</a></dd>
<dt>Decisions, ${HOURS} h</dt>
<dd>${sum(series.allow)} allowed, ${sum(series.deny)} denied${decisions.partial ? ' (partial)' : ''}</dd>
</dl></section>
</div>
${stackedBars({
  title: `Decisions per hour, last ${HOURS} hours, by outcome`,
  buckets: buckets.labels,
  series: [
    { label: 'allow', values: series.allow },
    { label: 'deny', values: series.deny },
  ],
  colors: ['#0b6e2e', '#a4161a'],
})}
${stackedBars({
  title: `Denials per hour by reason, last ${HOURS} hours`,
  buckets: buckets.labels,
  series: series.reasons,
})}
${lineChart({ title: `Bound state alive, last ${HOURS} hours`, buckets: buckets.labels, values: alive })}
<p><small>As of ${when(now)}.</small></p>`;
  return { html: page('Overview', ctx.frame, body) };
}

async function recentDecisions(core: CoreDeps, since: string): Promise<{ records: SealedRecord[]; partial: boolean }> {
  const records: SealedRecord[] = [];
  let cursor: string | undefined;
  do {
    const result = await core.audit.query({ kind: 'decision', since, limit: 1000, cursor });
    records.push(...result.records);
    cursor = result.next ?? undefined;
  } while (cursor !== undefined && records.length < MAX_RECORDS);
  return { records, partial: cursor !== undefined };
}

/** The chain head, the checkpoints signed so far, and the cosignatures of the last one. */
async function trailIntegrity(core: CoreDeps) {
  const head = core.audit.head();
  let checkpoints = 0;
  let last: string | null = null;
  for await (const note of core.audit.checkpoints()) {
    if (note.includes(`/${head.chain}\n`)) last = note;
    checkpoints += 1;
  }
  // A signed note's signature lines start with an em dash; the first is the log's own key.
  const signatures = last === null ? 0 : last.split('\n').filter((l) => l.startsWith('\u2014 ')).length;
  const lastSize = last === null ? null : Number.parseInt(last.split('\n')[1] ?? '', 10);
  return {
    chain: head.chain,
    seq: head.seq,
    hash: head.hash,
    checkpoints,
    lastSize: Number.isNaN(lastSize) ? null : lastSize,
    cosignatures: Math.max(0, signatures - 1),
  };
}

function statusText(status: string) {
  return status === 'OK'
    ? html`<span class="ok-text">OK</span>`
    : status === 'WARN'
      ? html`<span class="warn-text">WARN</span>`
      : html`<span class="bad-text">${status}</span>`;
}

const sum = (values: readonly number[]) => values.reduce((a, b) => a + b, 0);
