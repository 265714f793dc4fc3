import { listApprovals } from '../../../decision/approvals.ts';
import { revokePrincipal } from '../../../decision/revocations.ts';
import { readSession, reviewSession, revokeSession } from '../../../decision/sessions.ts';
import type { SessionView } from '../../../decision/types.ts';
import { InvalidRequest } from '../../../errors.ts';
import { isExpired, type SessionFilter, type SessionKind, type SessionRecord } from '../../../session/record.ts';
import { html } from '../../web/html.ts';
import { csrfField, page, when } from '../layout.ts';
import type { PageAnswer, PageContext } from '../plugin.ts';
import { consoleCaller } from '../users.ts';
import { ownerCell } from './owner.ts';

/** Rows per page of the live state. */
export const PAGE_SIZE = 50;
/** Most records one listing reads when it filters by kind or status, beyond what the store filters. */
const MAX_SCAN = 20_000;
const KINDS: readonly SessionKind[] = ['mcp-session', 'state-handle', 'task', 'upstream-handle'];
/** Longest note kept with a console action. */
export const MAX_NOTE = 1024;

/** Where a record stands at `now`. */
export function statusOf(record: SessionRecord, now: number): 'live' | 'revoked' | 'expired' {
  if (record.revoked_at !== null) return 'revoked';
  return isExpired(record, now) ? 'expired' : 'live';
}

/** `GET /state`: sessions and every other bound state, filtered, paginated; approvals waiting or granted. */
export async function statePage(ctx: PageContext): Promise<PageAnswer> {
  const { query, core } = ctx;
  const filter: SessionFilter = {
    sub: blank(query.subject),
    client_id: blank(query.client_id),
    server: blank(query.server),
  };
  const kind = KINDS.find((k) => k === query.kind);
  const ended = query.ended === 'on';
  const pageNo = Math.max(0, Math.min(10_000, Number.parseInt(query.page ?? '0', 10) || 0));
  const now = core.clock();
  // The store filters owner and server; kind and status are filtered here, over a bounded scan.
  const narrowed = kind !== undefined || !ended;
  const wanted = (pageNo + 1) * PAGE_SIZE + 1;
  const scanned = await core.sessions.list(filter, narrowed ? Math.max(wanted, MAX_SCAN) : wanted);
  const matching = scanned.filter(
    (r) => (kind === undefined || r.kind === kind) && (ended || statusOf(r, now) === 'live'),
  );
  const rows = matching.slice(pageNo * PAGE_SIZE, (pageNo + 1) * PAGE_SIZE);
  const more = matching.length > (pageNo + 1) * PAGE_SIZE;
  const approvals = core.approvals === undefined ? [] : await listApprovals(core, { state: 'pending', limit: 50 });
  const grants = core.approvals === undefined ? [] : await listApprovals(core, { state: 'granted', limit: 50 });
  const link = (p: number) => {
    const entries = Object.entries({ ...query, page: String(p) });
    const params = new URLSearchParams(
      entries.filter((e): e is [string, string] => typeof e[1] === 'string' && e[1] !== ''),
    );
    return `${ctx.frame.mount}/state?${params}`;
  };
  const canRevoke = ctx.user.roles.includes('responder');
  const first = pageNo * PAGE_SIZE + 1;
  const body = html`<form class="filters" method="get" action="${ctx.frame.mount}/state" role="search">
<div><label for="f-subject">Subject</label><input id="f-subject" name="subject" value="${query.subject ?? ''}"></div>
<div><label for="f-client">Client</label><input id="f-client" name="client_id" value="${query.client_id ?? ''}"></div>
<div><label for="f-server">Server</label><input id="f-server" name="server" value="${query.server ?? ''}"></div>
<div><label for="f-kind">Kind</label><select id="f-kind" name="kind"><option value="">any</option>${KINDS.map(
    (k) => html`<option${k === kind ? html` selected` : ''}>${k}</option>`,
  )}</select></div>
<div><label><input type="checkbox" name="ended"${ended ? html` checked` : ''}> include ended</label></div>
<button type="submit">Filter</button>
</form>
<p>${rows.length === 0 ? 'No record matches.' : `Records ${first}–${first + rows.length - 1}`}${
    scanned.length >= MAX_SCAN && narrowed ? ` (of the first ${MAX_SCAN} the store holds)` : ''
  }.</p>
<table>
<caption class="visually-hidden">Bound state</caption>
<thead><tr><th scope="col">Kind</th><th scope="col">Owner</th><th scope="col">Client</th><th scope="col">Server</th>
<th scope="col">Scope</th><th scope="col">Created</th><th scope="col">Last seen</th><th scope="col">Idle expiry</th>
<th scope="col">Expiry</th><th scope="col">Status</th><th scope="col"><span class="visually-hidden">Open</span></th>
</tr></thead>
<tbody>
${rows.map(
  (r) => html`<tr>
<td>${r.kind}</td><td>${ownerCell(r.owner)}</td><td><code>${r.owner.client_id ?? '—'}</code></td>
<td><code>${r.server}</code></td><td>${r.scope.join(', ') || '—'}</td><td>${when(r.created_at)}</td>
<td>${when(r.last_seen_at)}</td><td>${when(r.idle_expires_at)}</td><td>${when(r.expires_at)}</td>
<td>${statusOf(r, now)}</td><td><a href="${ctx.frame.mount}/state/${r.id_hash}">Open<span class="visually-hidden"> ${
    r.kind
  } of ${r.owner.sub}</span></a></td></tr>`,
)}
</tbody>
</table>
<nav class="pager" aria-label="Pages">${pageNo > 0 ? html`<a href="${link(pageNo - 1)}" rel="prev">Previous</a>` : ''}${
    more ? html`<a href="${link(pageNo + 1)}" rel="next">Next</a>` : ''
  }</nav>
<h2>Approvals waiting and granted</h2>
${
  approvals.length + grants.length === 0
    ? html`<p>None.</p>`
    : html`<table><thead><tr><th scope="col">State</th><th scope="col">Tool</th><th scope="col">Requester</th>
<th scope="col">Server</th><th scope="col">Created</th><th scope="col">Expires</th></tr></thead><tbody>${[
        ...approvals,
        ...grants,
      ].map(
        (a) => html`<tr><td>${a.state}</td><td><code>${a.tool}</code></td><td>${ownerCell(a.owner)}</td>
<td><code>${a.server}</code></td><td>${when(a.created_at)}</td><td>${when(a.grant_expires_at ?? a.expires_at)}</td>
</tr>`,
      )}</tbody></table>`
}
${
  canRevoke
    ? html`<h2>Revoke a subject or a client</h2>
<form method="post" action="${ctx.frame.mount}/principals/revoke">
${csrfField(ctx.user.csrf)}
<div class="filters">
<div><label for="r-subject">Subject</label><input id="r-subject" name="subject"></div>
<div><label for="r-client">or client</label><input id="r-client" name="client_id"></div>
</div>
<label for="r-note">Note (why; kept in the audit trail)</label>
<textarea id="r-note" name="note" maxlength="${MAX_NOTE}" required></textarea>
<div class="actions"><label><input type="checkbox" name="confirm" value="yes" required> I confirm: every session
 and request of this principal is refused from now on</label>
<button type="submit" class="danger">Revoke principal</button></div>
</form>`
    : ''
}`;
  return { html: page('Live state', ctx.frame, body) };
}

/** `GET /state/:hash`: one record, and (for a responder) the forms to revoke or mark it reviewed. */
export async function recordPage(ctx: PageContext): Promise<PageAnswer> {
  const view = await readSession(ctx.core, hashParam(ctx));
  const record = await ctx.core.sessions.get(view.id_hash);
  const status = record === undefined ? 'unknown' : statusOf(record, ctx.core.clock());
  const mount = ctx.frame.mount;
  const forms =
    ctx.user.roles.includes('responder') && status === 'live'
      ? html`<h2>Act on it</h2>
<form method="post" action="${mount}/state/${view.id_hash}/revoke">
${csrfField(ctx.user.csrf)}
<label for="note">Note (why; kept in the audit trail)</label>
<textarea id="note" name="note" maxlength="${MAX_NOTE}" required></textarea>
<div class="actions"><label><input type="checkbox" name="confirm" value="yes" required> I confirm the revocation
 of this ${view.kind} and of its owner's access</label>
<button type="submit" class="danger">Revoke</button></div>
</form>
<form method="post" action="${mount}/state/${view.id_hash}/review">
${csrfField(ctx.user.csrf)}
<label for="review-note">Review note (optional)</label>
<textarea id="review-note" name="note" maxlength="${MAX_NOTE}"></textarea>
<div class="actions"><button type="submit" class="ok">Mark reviewed</button></div>
</form>`
      : '';
  const body = html`${notice(ctx.query.done)}${details(view, status)}
<p><a href="${mount}/timeline?session=${view.id_hash}">Timeline of this ${view.kind}</a></p>
${forms}`;
  return { html: page(`${view.kind} ${view.id_hash.slice(0, 12)}…`, ctx.frame, body) };
}

/** `POST /state/:hash/revoke`: confirmed, with a note, as `console:<sub>`. */
export async function revokeRecordAction(ctx: PageContext): Promise<PageAnswer> {
  const hash = hashParam(ctx);
  const note = requiredNote(ctx.form);
  confirmed(ctx.form);
  await revokeSession(ctx.core, { id: hash, by_hash: true, note }, consoleCaller(ctx.user));
  return { redirect: `${ctx.frame.mount}/state/${hash}?done=revoked` };
}

/** `POST /state/:hash/review`: `session.reviewed`, with the note. */
export async function reviewRecordAction(ctx: PageContext): Promise<PageAnswer> {
  const hash = hashParam(ctx);
  const note = ctx.form.get('note') ?? '';
  if (note.length > MAX_NOTE) throw new InvalidRequest(`note: longer than ${MAX_NOTE} characters`);
  await reviewSession(ctx.core, { id_hash: hash, note: note === '' ? undefined : note }, consoleCaller(ctx.user));
  const back = ctx.form.get('back') === 'review' ? `${ctx.frame.mount}/review?done=reviewed` : undefined;
  return { redirect: back ?? `${ctx.frame.mount}/state/${hash}?done=reviewed` };
}

/** `POST /principals/revoke`: a subject or a client, confirmed, with a note. */
export async function revokePrincipalAction(ctx: PageContext): Promise<PageAnswer> {
  const subject = blank(ctx.form.get('subject') ?? undefined);
  const client = blank(ctx.form.get('client_id') ?? undefined);
  if ((subject === undefined) === (client === undefined)) {
    throw new InvalidRequest('subject, client_id: give exactly one of them');
  }
  const note = requiredNote(ctx.form);
  confirmed(ctx.form);
  const fields = subject === undefined ? { client_id: client, note } : { subject, note };
  const { revoked } = await revokePrincipal(ctx.core, fields, consoleCaller(ctx.user));
  const params = new URLSearchParams(subject === undefined ? { client_id: client! } : { subject });
  return { redirect: `${ctx.frame.mount}/state?${params}&ended=on&revoked=${revoked}` };
}

function details(view: SessionView, status: string) {
  return html`<dl>
<dt>Kind</dt><dd>${view.kind}</dd>
<dt>Hash</dt><dd><code>${view.id_hash}</code></dd>
<dt>Owner</dt><dd>${ownerCell(view.owner)}</dd>
<dt>Client</dt><dd><code>${view.owner.client_id ?? '—'}</code></dd>
<dt>Workload</dt><dd><code>${view.owner.spiffe_id ?? '—'}</code></dd>
<dt>Server</dt><dd><code>${view.server}</code></dd>
<dt>Scope</dt><dd>${view.scope.join(', ') || '—'}</dd>
<dt>Created</dt><dd>${view.created_at}</dd>
<dt>Idle expiry</dt><dd>${view.idle_expires_at}</dd>
<dt>Expiry</dt><dd>${view.expires_at}</dd>
<dt>Revoked</dt><dd>${view.revoked_at ?? '—'}</dd>
<dt>Status</dt><dd><strong>${status}</strong></dd>
</dl>`;
}

function notice(done: string | undefined) {
  if (done === 'revoked') return html`<p class="notice" role="status">Revoked. The revocation is in the timeline.</p>`;
  if (done === 'reviewed') return html`<p class="notice" role="status">Marked reviewed.</p>`;
  return '';
}

function hashParam(ctx: PageContext): string {
  const hash = ctx.params.hash ?? '';
  if (!/^[0-9a-f]{64}$/.test(hash)) throw new InvalidRequest('hash: not the sha256 (hex) of a state id');
  return hash;
}

function requiredNote(form: URLSearchParams): string {
  const note = (form.get('note') ?? '').trim();
  if (note === '') throw new InvalidRequest('note: say why; the note is kept in the audit trail');
  if (note.length > MAX_NOTE) throw new InvalidRequest(`note: longer than ${MAX_NOTE} characters`);
  return note;
}

function confirmed(form: URLSearchParams): void {
  if (form.get('confirm') !== 'yes') throw new InvalidRequest('confirm: tick the confirmation to revoke');
}

function blank(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed === undefined || trimmed === '' ? undefined : trimmed;
}
