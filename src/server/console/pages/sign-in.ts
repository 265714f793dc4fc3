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
