/**
 * The panel's HTML: CSP `default-src 'none'`, scripts only with this load's nonce, styles and images
 * only from the extension (and canvas data URLs), no remote content.
 */
import * as crypto from 'crypto';
import * as vscode from 'vscode';
import { STRINGS, type Strings } from '../../shared/strings';

export function localizedStrings(): Strings {
  const out = {} as Record<string, string>;
  for (const [k, v] of Object.entries(STRINGS)) out[k] = vscode.l10n.t(v);
  return out as Strings;
}

function escapeJsonForHtml(value: unknown): string {
  // Inside <script type="application/json">, only "</" could end the element early.
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

export function panelHtml(webview: vscode.Webview, extensionUri: vscode.Uri): string {
  const nonce = crypto.randomBytes(16).toString('base64');
  const script = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'webview.js'));
  const style = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'media', 'panel.css'));
  const csp = [
    "default-src 'none'",
    `style-src ${webview.cspSource}`,
    `img-src ${webview.cspSource} data: blob:`,
    `script-src 'nonce-${nonce}'`,
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="${vscode.env.language}">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${style}">
<title>Relevance Lens</title>
</head>
<body>
<div id="app" role="main"></div>
<script type="application/json" id="rl-strings">${escapeJsonForHtml(localizedStrings())}</script>
<script nonce="${nonce}" src="${script}"></script>
</body>
</html>`;
}
