import { approvalView, listApprovals } from '../../../decision/approvals.ts';
import { html } from '../../web/html.ts';
import { page, when } from '../layout.ts';
import type { PageAnswer, PageContext } from '../plugin.ts';
import { ownerCell } from './owner.ts';

/**
 * `GET /approvals`: the approver's queue. Deciding happens on the approval page, after a
 * fresh sign-in there for the call's server: the approver's own token decides, not the console.
 */
export async function approvalsPage(ctx: PageContext): Promise<PageAnswer> {
  if (ctx.core.approvals === undefined) {
    return {
      html: page('Approvals', ctx.frame, html`<p>Approvals are off (config <code>approvals.enabled</code>).</p>`),
    };
  }
  const pending = await listApprovals(ctx.core, { state: 'pending', limit: 200 });
  const body = html`<p>${pending.length} call(s) parked, waiting for an approver. Open one to decide it: the approval
 page asks you to sign in again, for that call's server.</p>
<table>
<caption class="visually-hidden">Approval requests</caption>
<thead><tr><th scope="col">Tool</th><th scope="col">Requester</th><th scope="col">Server</th><th scope="col">Reason</th>
<th scope="col">Created</th><th scope="col">Expires</th><th scope="col">Decide</th></tr></thead>
<tbody>
${pending.map((record) => {
  const view = approvalView(ctx.core, record);
  return html`<tr><td><code>${view.tool}</code></td><td>${ownerCell(record.owner)}</td><td>
<code>${view.server}</code></td>
<td>${view.reason ?? '—'}</td><td>${when(view.created_at)}</td><td>${when(view.expires_at)}</td>
<td>${
    view.url === null
      ? 'no approval page'
      : html`<a href="${view.url}">Decide<span class="visually-hidden"> ${view.tool} for ${record.owner.sub}</span></a>`
  }</td></tr>`;
})}
</tbody>
</table>`;
  return { html: page('Approvals', ctx.frame, body) };
}
