import { Html, html } from './html.ts';

/**
 * A whole page: UTF-8, responsive, no referrer beyond this origin, its one style block
 * (which the page's CSP allows by hash), `head` extras, and `body`.
 */
export function htmlDocument(parts: {
  readonly title: string;
  readonly style: string;
  readonly head?: Html;
  readonly body: Html;
}): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
${parts.head ?? ''}<title>${parts.title}</title>
<style>${new Html(parts.style)}</style>
</head>
<body>
${parts.body}
</body>
</html>
`.value;
}
