import { Html, html } from '../web/html.ts';
import { htmlDocument } from '../web/document.ts';
import { strictPageHeaders } from '../web/page-headers.ts';
import type { ConsoleRole } from './users.ts';

/** The console's one style block; the CSP allows it by hash, and nothing else (no script at all). */
const STYLE = [
  'body{font:15px/1.5 system-ui,sans-serif;color:#1a1a1a;background:#fff;margin:0}',
  'header{background:#1a2b45;color:#fff;padding:.5rem 1.5rem;display:flex;gap:1.5rem;align-items:center;',
  'flex-wrap:wrap}',
  'header a{color:#fff}header nav{display:flex;gap:1rem;flex-wrap:wrap}',
  'header a[aria-current=page]{font-weight:700;text-decoration-thickness:3px}',
  '.brand{font-weight:700;margin-right:1rem}.who{margin-left:auto;color:#dfe6f0}',
  'main{max-width:80rem;margin:0 auto;padding:1rem 1.5rem}',
  'h1{font-size:1.4rem;margin:.5rem 0 1rem}h2{font-size:1.15rem;margin:1.5rem 0 .5rem}',
  'table{border-collapse:collapse;width:100%;font-size:.875rem}',
  'th,td{border-bottom:1px solid #ccd;padding:.3rem .5rem;text-align:left;vertical-align:top}',
  'th{background:#eef1f6}td code{overflow-wrap:anywhere}',
  'code,pre{font-family:ui-monospace,monospace;font-size:.8125rem}',
  'pre{background:#f3f3f3;padding:.5rem;white-space:pre-wrap;overflow-wrap:anywhere;margin:0}',
  'form.filters{display:flex;gap:.75rem;flex-wrap:wrap;align-items:end;margin-bottom:1rem}',
  'label{display:block;font-weight:600;font-size:.875rem}',
  'input,select,textarea{font:inherit;border:1px solid #555;padding:.3rem .4rem;border-radius:3px}',
  'textarea{width:100%;box-sizing:border-box;min-height:4rem}',
  'button{font:inherit;font-weight:600;padding:.35rem 1rem;border:0;border-radius:4px;color:#fff;',
  'background:#1a4fa0;cursor:pointer}',
  'button.danger{background:#a4161a}button.ok{background:#0b6e2e}',
  'a{color:#1a4fa0}',
  'a:focus-visible,button:focus-visible,input:focus-visible,select:focus-visible,textarea:focus-visible,',
  'summary:focus-visible{outline:3px solid #e8a200;outline-offset:2px}',
  '.tiles{display:grid;grid-template-columns:repeat(auto-fit,minmax(16rem,1fr));gap:1rem}',
  '.tile{border:1px solid #ccd;border-radius:6px;padding:.75rem 1rem}',
  'dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem;margin:0}dt{font-weight:600}',
  'dd{margin:0;overflow-wrap:anywhere}',
  '.ok-text{color:#0b6e2e;font-weight:700}.bad-text{color:#a4161a;font-weight:700}',
  '.warn-text{color:#8a5a00;font-weight:700}',
  '.flag{display:inline-block;border:1px solid #555;border-radius:3px;padding:0 .3rem;margin:0 .2rem .2rem 0;',
  'font-size:.75rem}',
  '.problem{border-left:4px solid #a4161a;padding-left:1rem}.notice{border-left:4px solid #0b6e2e;padding-left:1rem}',
  '.pager{display:flex;gap:1rem;margin:1rem 0}.actions{display:flex;gap:1rem;align-items:center;margin-top:.5rem}',
  'figure{margin:1rem 0}figcaption{font-weight:600}svg{max-width:100%;height:auto}',
  '.visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}',
].join('');

/** Sent with every answer of the console (no script at all: there is none). */
export const CONSOLE_HEADERS = strictPageHeaders(STYLE);

/** The pages of the navigation, and the roles that see each. */
const NAV: readonly { readonly path: string; readonly label: string; readonly roles?: readonly ConsoleRole[] }[] = [
  { path: '', label: 'Overview' },
  { path: '/state', label: 'Live state' },
  { path: '/timeline', label: 'Timeline' },
  { path: '/access', label: 'Who had access' },
  { path: '/review', label: 'Review' },
  { path: '/approvals', label: 'Approvals', roles: ['approver'] },
];

/** Who is signed in, for the header, and the form to sign out. */
export interface PageFrame {
  readonly mount: string;
  readonly current: string;
  readonly user: { readonly sub: string; readonly roles: readonly ConsoleRole[]; readonly csrf: string } | null;
}

/** A whole page: header, navigation, the body. */
export function page(title: string, frame: PageFrame, body: Html): string {
  const nav = frame.user
    ? NAV.filter((n) => n.roles === undefined || n.roles.some((r) => frame.user!.roles.includes(r))).map(
        (n) =>
          html`<a href="${frame.mount}${n.path}"${n.path === frame.current ? new Html(' aria-current="page"') : ''}>${
            n.label
          }</a>`,
      )
    : [];
  const who = frame.user
    ? html`<span class="who">${frame.user.sub} (${frame.user.roles.join(', ')})</span>
<form method="post" action="${frame.mount}/sign-out"><input type="hidden" name="csrf" value="${frame.user.csrf}">
<button type="submit">Sign out</button></form>`
    : '';
  return htmlDocument({
    title: `${title} · mcp-warden console`,
    style: STYLE,
    body: html`<header><span class="brand">mcp-warden</span><nav aria-label="Console">${nav}</nav>${who}</header>
<main>
<h1>${title}</h1>
${body}
</main>`,
  });
}

/** A refusal or a failure, as a page. */
export function problem(frame: PageFrame, status: number, message: string, code?: string): string {
  return page(
    status === 404 ? 'Not found' : status === 403 ? 'Not allowed' : 'The request could not be completed',
    frame,
    html`<div class="problem" role="alert"><p>${message}</p><p>HTTP ${status}${
      code === undefined ? '' : html`, <code>${code}</code>`
    }</p></div>`,
  );
}

/** A hidden CSRF field, for every form that changes something. */
export function csrfField(csrf: string): Html {
  return html`<input type="hidden" name="csrf" value="${csrf}">`;
}

/** An ISO time, or a dash. */
export function when(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return '—';
  return typeof value === 'number' ? new Date(value).toISOString() : value;
}
