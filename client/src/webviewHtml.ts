// The timing panel's HTML: a strict CSP (nothing remote, scripts only by nonce) and one bundled
// script. Pure so the policy itself is unit tested.
import { randomBytes } from 'node:crypto';

export interface PanelHtmlInputs {
  /** webview.cspSource */
  cspSource: string;
  /** webview.asWebviewUri(dist/webview.js) as a string */
  scriptUri: string;
  nonce: string;
  title: string;
}

export function makeNonce(): string {
  return randomBytes(18).toString('base64');
}

/** Escapes for text and double-quoted attributes; single quotes stay readable in the CSP. */
function escapeHtml(text: string): string {
  return text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}

/**
 * The panel's styles are constructable stylesheets (the panel's own and the Lit components'),
 * which style-src does not govern, so no 'unsafe-inline' is needed; the nonce in style-src only
 * serves the <style> fallback for engines without constructable stylesheets.
 */
export function contentSecurityPolicy(cspSource: string, nonce: string): string {
  return [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    `style-src ${cspSource} 'nonce-${nonce}'`,
    `font-src ${cspSource}`,
    `img-src ${cspSource}`,
  ].join('; ');
}

export function buildPanelHtml(inputs: PanelHtmlInputs): string {
  const csp = contentSecurityPolicy(inputs.cspSource, inputs.nonce);
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${escapeHtml(csp)}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>${escapeHtml(inputs.title)}</title>
</head>
<body>
<main id="app" aria-live="polite"></main>
<script nonce="${escapeHtml(inputs.nonce)}" src="${escapeHtml(inputs.scriptUri)}"></script>
</body>
</html>
`;
}
