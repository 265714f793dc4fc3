import { AUDIT_KINDS, type AuditQuery } from '../../../audit/record.ts';
import { InvalidRequest } from '../../../errors.ts';
import { hashSessionId, kindOfId } from '../../../session/ids.ts';
import { html } from '../../web/html.ts';
import { page } from '../layout.ts';
import type { PageAnswer, PageContext } from '../plugin.ts';
import { ownerCell } from './owner.ts';

const PAGE_SIZE = 100;
const FILTERS = ['session', 'subject', 'client_id', 'tool', 'server'] as const;

/**
 * `GET /timeline`: the audit trail for a session, subject, client, tool or server, oldest
 * first, paginated; each record's input and detail as written (masked before writing).
 */
export async function timelinePage(ctx: PageContext): Promise<PageAnswer> {
  const { query } = ctx;
  const value = (name: string) => {
    const v = query[name]?.trim();
    return v === undefined || v === '' ? undefined : v.slice(0, 2048);
  };
  const session = value('session');
  const kind = AUDIT_KINDS.find((k) => k === query.kind);
  const auditQuery: AuditQuery = {
    session: session !== undefined && kindOfId(session) !== null ? hashSessionId(session) : session,
    subject: value('subject'),
    client_id: value('client_id'),
    tool: value('tool'),
    server: value('server'),
    kind,
    since: isoOrUndefined(value('since'), 'since'),
    until: isoOrUndefined(value('until'), 'until'),
    limit: PAGE_SIZE,
    cursor: value('cursor'),
  };
  const result = await ctx.core.audit.query(auditQuery);
  const params = (cursor: string) =>
    new URLSearchParams(
      Object.entries({ ...query, cursor }).filter(
        (e): e is [string, string] => typeof e[1] === 'string' && e[1] !== '',
      ),
    );
  const field = (name: (typeof FILTERS)[number], label: string) =>
    html`<div><label for="t-${name}">${label}</label>
<input id="t-${name}" name="${name}" value="${query[name] ?? ''}"></div>`;
  const body = html`<form class="filters" method="get" action="${ctx.frame.mount}/timeline" role="search">
${field('session', 'Session (id or hash)')}${field('subject', 'Subject')}${field('client_id', 'Client')}
${field('tool', 'Tool')}${field('server', 'Server')}
<div><label for="t-kind">Kind</label><select id="t-kind" name="kind"><option value="">any</option>${AUDIT_KINDS.map(
    (k) => html`<option${k === kind ? html` selected` : ''}>${k}</option>`,
  )}</select></div>
<button type="submit">Show</button>
</form>
<table>
<caption class="visually-hidden">Audit records</caption>
<thead><tr><th scope="col">Time</th><th scope="col">Kind</th><th scope="col">Principal</th><th scope="col">Caller</th>
<th scope="col">Server</th><th scope="col">Tool</th><th scope="col">Outcome</th><th scope="col">Detail</th></tr></thead>
<tbody>
${result.records.map(
  (r) => html`<tr>
<td>${r.ts}<br><small>${r.chain} #${r.seq}</small></td><td><code>${r.kind}</code></td>
<td>${r.principal === null ? '—' : ownerCell(r.principal)}</td><td><code>${r.caller}</code></td>
<td><code>${r.server ?? '—'}</code></td><td><code>${r.tool ?? '—'}</code></td>
<td>${outcomeCell(r.allow)}${
    r.reasons.length === 0 ? '' : html`<br>${r.reasons.map((reason) => reason.code).join(', ')}`
  }</td>
<td>${
    r.input === undefined && r.detail === undefined
      ? '—'
      : html`<details><summary>Detail</summary><pre>${JSON.stringify(
          {
            ...(r.input === undefined ? {} : { input: r.input }),
            ...(r.detail === undefined ? {} : { detail: r.detail }),
          },
          null,
          2,
        )}</pre></details>`
  }</td></tr>`,
)}
</tbody>
</table>
${result.records.length === 0 ? html`<p>No record matches.</p>` : ''}
<nav class="pager" aria-label="Pages">${
    result.next === null
      ? ''
      : html`<a href="${ctx.frame.mount}/timeline?${params(result.next)}" rel="next">Later records</a>`
  }</nav>`;
  return { html: page('Timeline', ctx.frame, body) };
}

/** An ISO 8601 time from a form field, or undefined when blank; a 400 naming the field otherwise. */
export function isoOrUndefined(value: string | undefined, field: string): string | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  if (Number.isNaN(ms))
    throw new InvalidRequest(`${field}: not a date and time`, [{ path: field, message: 'not a date' }]);
  return new Date(ms).toISOString();
}

function outcomeCell(allow: boolean | null) {
  if (allow === null) return '—';
  return allow ? html`<span class="ok-text">allow</span>` : html`<span class="bad-text">deny</span>`;
}
