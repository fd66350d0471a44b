/** Entry of dist/gallery.js: the data-set gallery page (browser IIFE, loaded with the page's CSP nonce). */
import { GalleryView } from '../components/gallery';

const root = document.getElementById('app');
if (root) new GalleryView(root);
