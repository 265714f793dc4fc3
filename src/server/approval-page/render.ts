import type { approvalView } from '../../decision/approvals.ts';
import { type Html, html } from '../web/html.ts';
import { htmlDocument } from '../web/document.ts';
import { strictPageHeaders } from '../web/page-headers.ts';

/** A request as the page shows it: the API's view. */
export type ApprovalPageView = ReturnType<typeof approvalView>;

/** The page's one style block; the CSP allows it by hash, and nothing else. */
const STYLE = [
  'body{font:16px/1.5 system-ui,sans-serif;color:#1a1a1a;background:#fff;margin:0}',
  'main{max-width:48rem;margin:0 auto;padding:1.5rem}',
  'h1{font-size:1.5rem;margin:0 0 1rem}',
  'dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem;margin:0 0 1.5rem}',
  'dt{font-weight:600}',
  'dd{margin:0;overflow-wrap:anywhere}',
  'pre{background:#f3f3f3;color:#1a1a1a;padding:.75rem;margin:0;white-space:pre-wrap;overflow-wrap:anywhere}',
  'code,pre{font-family:ui-monospace,monospace;font-size:.875rem}',
  'label{display:block;font-weight:600;margin-bottom:.25rem}',
  'textarea{width:100%;box-sizing:border-box;font:inherit;min-height:5rem;border:1px solid #555;padding:.5rem}',
  '.actions{display:flex;gap:1rem;margin-top:1rem}',
  'button{font:inherit;font-weight:600;padding:.5rem 1.25rem;border:0;border-radius:4px;color:#fff;cursor:pointer}',
  '.grant{background:#0b6e2e}',
  '.deny{background:#a4161a}',
  'button:focus-visible,textarea:focus-visible,a:focus-visible{outline:3px solid #1a4fa0;outline-offset:2px}',
  '.who{color:#444}',
  '.problem{border-left:4px solid #a4161a;padding-left:1rem}',
  'a{color:#1a4fa0}',
].join('');

/** Sent with every answer of the page. */
export const PAGE_HEADERS = strictPageHeaders(STYLE);

function layout(title: string, body: Html, head: Html = html``): string {
  return htmlDocument({
    title: `${title} · mcp-warden`,
    style: STYLE,
    head,
    body: html`<main>
${body}
</main>`,
  });
}

const json = (value: unknown) => JSON.stringify(value, null, 2);

function requester(owner: ApprovalPageView['requester']): Html {
  return html`<code>${owner.sub}</code> at <code>${owner.iss}</code>${
    owner.client_id === null ? '' : html`, client <code>${owner.client_id}</code>`
  }${owner.spiffe_id === null ? '' : html`, workload <code>${owner.spiffe_id}</code>`}`;
}

function approvers(value: ApprovalPageView['approvers']): Html {
  if (value === 'self') return html`the requester, after signing in again`;
  const parts = [
    value.roles.length > 0 ? `roles: ${value.roles.join(', ')}` : null,
    value.subjects.length > 0 ? `subjects: ${value.subjects.join(', ')}` : null,
    value.groups.length > 0 ? `groups: ${value.groups.join(', ')}` : null,
  ].filter((p) => p !== null);
  return html`${parts.join('; ')}`;
}

function actor(who: NonNullable<ApprovalPageView['decided_by']>, at: string | null): Html {
  const name = who.sub ?? who.caller;
  return html`<code>${name}</code>${who.iss === null ? '' : html` at <code>${who.iss}</code>`} (through ${
    who.caller
  })${at === null ? '' : html`, ${at}`}`;
}

function details(view: ApprovalPageView): Html {
  return html`<dl>
<dt>Tool</dt><dd><code>${view.tool}</code></dd>
<dt>Server</dt><dd><code>${view.server}</code></dd>
<dt>Requester</dt><dd>${requester(view.requester)}</dd>
<dt>Client says</dt><dd>${view.client === null ? 'nothing' : html`<pre>${json(view.client)}</pre>`}</dd>
<dt>Arguments</dt><dd><pre>${json(view.arguments)}</pre></dd>
<dt>Arguments sha256</dt><dd><code>${view.arguments_sha256}</code></dd>
<dt>Reason</dt><dd>${view.reason ?? 'none given'}</dd>
<dt>Approvers</dt><dd>${approvers(view.approvers)}</dd>
<dt>Created</dt><dd>${view.created_at}</dd>
<dt>Expires</dt><dd>${view.expires_at}</dd>
<dt>State</dt><dd><strong>${view.state}</strong></dd>
${view.decided_by === null ? '' : html`<dt>Decided by</dt><dd>${actor(view.decided_by, view.decided_at)}</dd>`}
${view.note === null ? '' : html`<dt>Note</dt><dd>${view.note}</dd>`}
${view.revoked_by === null ? '' : html`<dt>Revoked by</dt><dd>${actor(view.revoked_by, view.revoked_at)}</dd>`}
</dl>`;
}

/** One request, and while it is pending the form to grant or deny it. */
export function requestPage(view: ApprovalPageView, options: { signedInAs: string; csrf: string; action: string }) {
  const form =
    view.state !== 'pending'
      ? html`<p>This request is ${view.state}: there is nothing to decide.</p>`
      : html`<form method="post" action="${options.action}">
<input type="hidden" name="csrf" value="${options.csrf}">
<label for="note">Note (optional)</label>
<textarea id="note" name="note" maxlength="1024"></textarea>
<div class="actions">
<button type="submit" name="decision" value="grant" class="grant">Grant</button>
<button type="submit" name="decision" value="deny" class="deny">Deny</button>
</div>
</form>`;
  return layout(
    `Approve ${view.tool}?`,
    html`<h1>Approve <code>${view.tool}</code>?</h1>
<p class="who">Signed in as <code>${options.signedInAs}</code>.</p>
${details(view)}
${form}`,
  );
}

/** The request after the decision. */
export function outcomePage(view: ApprovalPageView, signedInAs: string): string {
  return layout(
    `Request ${view.state}`,
    html`<h1>Request ${view.state}</h1>
<p class="who">Decided as <code>${signedInAs}</code>. Sign in again from the approval link for another decision.</p>
${details(view)}`,
  );
}

/** A refusal or a failure: its status, code and message. */
export function problemPage(status: number, message: string, code?: string): string {
  return layout(
    `Error ${status}`,
    html`<h1>${status === 404 ? 'Not found' : 'The request could not be completed'}</h1>
<div class="problem">
<p>${message}</p>
<p>HTTP ${status}${code === undefined ? '' : html`, <code>${code}</code>`}</p>
</div>`,
  );
}

/**
 * After the sign-in: the way on to the request. Not a redirect: the browser arrives from
 * the issuer, and a redirect would keep that navigation cross-site, so the SameSite=Strict
 * session cookie would not be sent; a navigation from this page is same-site.
 */
export function continuePage(target: string, signedInAs: string): string {
  return layout(
    'Signed in',
    html`<h1>Signed in</h1>
<p>Signed in as <code>${signedInAs}</code>. <a href="${target}">Continue to the approval request</a>.</p>`,
    html`<meta http-equiv="refresh" content="0; url=${target}">
`,
  );
}
