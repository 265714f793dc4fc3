import { html } from '../../web/html.ts';
import { type PageFrame, page } from '../layout.ts';

/**
 * After the sign-in: the way on. Not a redirect: the browser arrives from the issuer, and
 * a redirect would keep the navigation cross-site, so the SameSite=Strict cookie would not
 * be sent; a navigation from this page is same-site.
 */
export function continuePage(frame: PageFrame, target: string, sub: string): string {
  return page(
    'Signed in',
    frame,
    html`<p>Signed in as <code>${sub}</code>. <a href="${target}" id="continue">Continue</a>.</p>`,
  );
}

/**
 * Dev mode's sign-in: an admin API key (`callers.api_keys`), or, when none are configured,
 * the local caller; and the issuer's sign-in when one is configured too.
 */
export function keySignInPage(frame: PageFrame, options: { next: string; issuer: string | null; keyless: boolean }) {
  const viaIssuer =
    options.issuer === null
      ? ''
      : html`<p><a href="${frame.mount}/sign-in?via=issuer&amp;next=${encodeURIComponent(options.next)}">Sign in
 at ${options.issuer}</a></p>`;
  const keyField = options.keyless
    ? html`<p>No API keys are configured: dev mode signs you in as <code>local</code>, with every console role.</p>`
    : html`<div><label for="key">Admin API key</label><input id="key" name="key" type="password" required
 autocomplete="off"></div>`;
  return page(
    'Sign in (dev mode)',
    frame,
    html`<form method="post" action="${frame.mount}/sign-in/key">
${keyField}<input type="hidden" name="next" value="${options.next}">
<div class="actions"><button type="submit">Sign in</button></div>
</form>${viaIssuer}`,
  );
}
