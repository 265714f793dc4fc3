import { accessCsv, accessReport, accessWindow } from '../../../audit/access.ts';
import { html } from '../../web/html.ts';
import { page } from '../layout.ts';
import type { PageAnswer, PageContext } from '../plugin.ts';
import { chainText, ownerCell } from './owner.ts';
import { isoOrUndefined } from './timeline.ts';

/**
 * `GET /access`: who could use a tool on a server in a window, and who did (the same
 * report as `mcp-warden audit access` and `GET /v1/audit/access`); CSV and JSON exports.
 */
export async function accessPage(ctx: PageContext): Promise<PageAnswer> {
  const { query } = ctx;
  const now = ctx.core.clock();
  const server = query.server?.trim() ?? '';
  const tool = query.tool?.trim() ?? '';
  const { since, until } = accessWindow(
    isoOrUndefined(query.since?.trim() || undefined, 'since'),
    isoOrUndefined(query.until?.trim() || undefined, 'until'),
    now,
  );
  const form = html`<form class="filters" method="get" action="${ctx.frame.mount}/access">
<div><label for="a-server">Server</label><input id="a-server" name="server" value="${server}" required></div>
<div><label for="a-tool">Tool</label><input id="a-tool" name="tool" value="${tool}" required></div>
<div><label for="a-since">From (ISO 8601)</label><input id="a-since" name="since" value="${since}"></div>
<div><label for="a-until">Until</label><input id="a-until" name="until" value="${until}"></div>
<button type="submit">Answer</button>
</form>`;
  if (server === '' || tool === '') {
    return { html: page('Who had access', ctx.frame, html`${form}<p>Name a server and a tool.</p>`) };
  }
  const report = await accessReport(ctx.core.audit, { server, tool, since, until });
  const safeName = tool.replace(/[^\w.-]/g, '_').slice(0, 64);
  if (query.format === 'csv') {
    return { download: accessCsv(report), type: 'text/csv; charset=utf-8', filename: `access-${safeName}.csv` };
  }
  if (query.format === 'json') {
    return {
      download: JSON.stringify(report, null, 2),
      type: 'application/json; charset=utf-8',
      filename: `access-${safeName}.json`,
    };
  }
  const exportLink = (format: string) =>
    `${ctx.frame.mount}/access?${new URLSearchParams({ server, tool, since, until, format })}`;
  const could = report.rows.filter((r) => r.could).length;
  const did = report.rows.filter((r) => r.did > 0).length;
  const partial = report.truncated ? ' The trail was read only in part: narrow the window.' : '';
  const body = html`${form}
<p id="access-summary">${could} principal(s) could call <code>${tool}</code> on <code>${server}</code>
 between ${since} and ${until}; ${did} did.${partial}</p>
<p><a href="${exportLink('csv')}" download>Export CSV</a> ·
 <a href="${exportLink('json')}" download>Export JSON</a></p>
<table>
<caption class="visually-hidden">Principals with access</caption>
<thead><tr><th scope="col">Principal</th><th scope="col">Chain</th><th scope="col">Could</th><th scope="col">Calls</th>
<th scope="col">Refused</th><th scope="col">First call</th><th scope="col">Last call</th>
<th scope="col">Sessions</th></tr></thead>
<tbody>
${report.rows.map(
  (r) => html`<tr><td>${ownerCell({ ...r.principal, actor: [] })}</td>
<td>${(r.principal.actor ?? []).length === 0 ? '—' : chainText(r.principal.actor ?? [])}</td>
<td>${r.could ? 'yes' : 'no'}</td><td>${r.did}</td><td>${r.denied}</td><td>${r.first_at ?? '—'}</td>
<td>${r.last_at ?? '—'}</td>
<td>${r.sessions.map(
    (s) => html`<a href="${ctx.frame.mount}/timeline?session=${s}"><code>${s.slice(0, 12)}…</code></a> `,
  )}</td></tr>`,
)}
</tbody>
</table>`;
  return { html: page('Who had access', ctx.frame, body) };
}
