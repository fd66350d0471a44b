/** Entry of dist/webview.js (browser IIFE, loaded with the page's CSP nonce). */
import { App } from './app';

const root = document.getElementById('app');
if (root) new App(root);
