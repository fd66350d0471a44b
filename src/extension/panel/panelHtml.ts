/**
 * The HTML shell of the extension's webviews (explanation panel, gallery): CSP `default-src 'none'`,
 * scripts only with this load's nonce, styles and images only from the extension (and canvas data
 * URLs), no remote content; the page's localized strings ride along as JSON.
 */
import * as crypto from 'crypto';
import * as vscode from 'vscode';
import { STRINGS } from '../../shared/strings';
import { GALLERY_STRINGS } from '../../shared/galleryStrings';

interface Shell {
  /** bundle in dist/ and the page's stylesheet in media/ (after media/base.css) */
  script: string;
  style: string;
  title: string;
  /** English strings, localized here with vscode.l10n */
  strings: Readonly<Record<string, string>>;
  /** image sources besides the extension's and data: URLs */
  extraImgSrc?: string;
}

function localized(strings: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(strings).map(([k, v]) => [k, vscode.l10n.t(v)]));
}

function escapeJsonForHtml(value: unknown): string {
  // Inside <script type="application/json">, only "</" could end the element early.
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

function webviewHtml(webview: vscode.Webview, extensionUri: vscode.Uri, s: Shell): string {
  const nonce = crypto.randomBytes(16).toString('base64');
  const script = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', s.script));
  const styles = ['base.css', s.style].map((f) => webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'media', f)));
  const csp = [
    "default-src 'none'",
    `style-src ${webview.cspSource}`,
    `img-src ${webview.cspSource} data:${s.extraImgSrc ? ` ${s.extraImgSrc}` : ''}`,
    `script-src 'nonce-${nonce}'`,
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="${vscode.env.language}">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
${styles.map((u) => `<link rel="stylesheet" href="${u}">`).join('\n')}
<title>${s.title}</title>
</head>
<body>
<div id="app" role="main"></div>
<script type="application/json" id="rl-strings">${escapeJsonForHtml(localized(s.strings))}</script>
<script nonce="${nonce}" src="${script}"></script>
</body>
</html>`;
}

/** The explanation panel (its heatmaps are also shown from blob: URLs). */
export function panelHtml(webview: vscode.Webview, extensionUri: vscode.Uri): string {
  return webviewHtml(webview, extensionUri, { script: 'webview.js', style: 'panel.css', title: 'Relevance Lens', strings: STRINGS, extraImgSrc: 'blob:' });
}

/** The data-set gallery. */
export function galleryHtml(webview: vscode.Webview, extensionUri: vscode.Uri): string {
  return webviewHtml(webview, extensionUri, {
    script: 'gallery.js', style: 'gallery.css', title: vscode.l10n.t(GALLERY_STRINGS.title), strings: GALLERY_STRINGS,
  });
}
