import { html } from '../../web/html.ts';
import { csrfField, page, when } from '../layout.ts';
import type { PageAnswer, PageContext } from '../plugin.ts';
import { reviewQueue } from '../review-queue.ts';
import { chainText, ownerCell } from './owner.ts';

/** `GET /review`: the sessions that deserve a look; each can be marked reviewed, or opened to revoke. */
export async function reviewPage(ctx: PageContext): Promise<PageAnswer> {
  const all = ctx.query.reviewed === 'on';
  const items = await reviewQueue(ctx.core, ctx.options.review, all);
  const mount = ctx.frame.mount;
  const canAct = ctx.user.roles.includes('responder');
  const body = html`${
    ctx.query.done === 'reviewed' ? html`<p class="notice" role="status">Marked reviewed.</p>` : ''
  }<form class="filters" method="get" action="${mount}/review">
<div><label><input type="checkbox" name="reviewed"${all ? html` checked` : ''}> include reviewed</label></div>
<button type="submit">Show</button></form>
<p>${items.length} session(s): delegated, of a shared principal,
 long-lived (${ctx.options.review.long_lived_seconds} s), widened, or idle (${ctx.options.review.idle_seconds} s).</p>
<table>
<caption class="visually-hidden">Sessions to review</caption>
<thead><tr><th scope="col">Flags</th><th scope="col">Owner</th><th scope="col">Chain</th><th scope="col">Server</th>
<th scope="col">Scope</th><th scope="col">Created</th><th scope="col">Last seen</th><th scope="col">Reviewed</th>
<th scope="col">Action</th></tr></thead>
<tbody>
${items.map(
  ({ record: r, flags, reviewedAt }) => html`<tr>
<td>${flags.map((f) => html`<span class="flag">${f}</span>`)}</td><td>${ownerCell({ ...r.owner, actor: [] })}</td>
<td>${(r.owner.actor ?? []).length === 0 ? '—' : chainText(r.owner.actor ?? [])}</td><td><code>${r.server}</code></td>
<td>${r.scope.join(', ') || '—'}</td><td>${when(r.created_at)}</td><td>${when(r.last_seen_at)}</td>
<td>${reviewedAt ?? '—'}</td>
<td><a href="${mount}/state/${r.id_hash}">Open</a>${
    canAct
      ? html`<form method="post" action="${mount}/state/${r.id_hash}/review">${csrfField(ctx.user.csrf)}
<input type="hidden" name="back" value="review"><button type="submit" class="ok">Mark reviewed<span
 class="visually-hidden"> session of ${r.owner.sub}</span></button></form>`
      : ''
  }</td></tr>`,
)}
</tbody>
</table>`;
  return { html: page('Review', ctx.frame, body) };
}
