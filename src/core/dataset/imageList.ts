/**
 * The images of a set: every image file under a folder (recursively, in path order), or the lines of a
 * list file: `PATH` or `PATH<TAB>CLASS` (CLASS an index or one of the model's labels; paths relative to
 * the list's folder). Problems name the folder or list file and its line.
 */
import * as fs from 'fs';
import * as path from 'path';
import { LensError } from '../errors';
import { IMAGE_EXTENSIONS } from '../pipeline';
import type { RunImage } from './runFormat';

const idOf = (i: number): string => String(i).padStart(6, '0');

function walk(dir: string, root: string, out: string[]): void {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (e.name.startsWith('.')) continue;
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, root, out);
    else if (e.isFile() && IMAGE_EXTENSIONS.includes(path.extname(e.name).toLowerCase())) out.push(path.relative(root, p));
  }
}

function parseClass(text: string, labels: string[] | undefined, where: string): number {
  const t = text.trim();
  if (/^\d+$/.test(t)) return Number(t);
  const k = labels?.indexOf(t) ?? -1;
  if (k < 0) throw new LensError('bad-input', `class '${t}' is neither an index nor one of the model's labels`, where);
  return k;
}

export function listImages(source: string, labels?: string[]): RunImage[] {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(source);
  } catch {
    throw new LensError('bad-input', 'folder or list file not found', source);
  }
  const root = path.resolve(source);
  let images: RunImage[];
  if (stat.isDirectory()) {
    const rels: string[] = [];
    try {
      walk(root, root, rels);
    } catch (e) {
      throw new LensError('bad-input', `cannot read folder (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, source);
    }
    rels.sort();
    images = rels.map((rel, i) => ({ id: idOf(i), file: path.join(root, rel), rel: rel.split(path.sep).join('/') }));
  } else {
    if (IMAGE_EXTENSIONS.includes(path.extname(source).toLowerCase())) {
      throw new LensError('bad-usage', 'explain-set takes a folder or a list file (one image path per line), not one image (use explain)', source);
    }
    const dir = path.dirname(root);
    images = [];
    const lines = fs.readFileSync(source, 'utf8').split(/\r?\n/);
    lines.forEach((line, n) => {
      if (line.trim() === '' || line.startsWith('#')) return;
      const [p, cls] = line.split('\t');
      const where = `${source}:${n + 1}`;
      const file = path.resolve(dir, p.trim());
      if (!IMAGE_EXTENSIONS.includes(path.extname(file).toLowerCase())) {
        throw new LensError('bad-input', `'${p.trim()}' is not a .png/.jpg/.jpeg/.bmp image`, where);
      }
      const img: RunImage = { id: idOf(images.length), file, rel: p.trim() };
      if (cls !== undefined && cls.trim() !== '') img.label = parseClass(cls, labels, where);
      images.push(img);
    });
  }
  if (images.length === 0) throw new LensError('bad-input', `no images (${IMAGE_EXTENSIONS.join(', ')}) found`, source);
  const seen = new Set<string>();
  for (const im of images) {
    if (seen.has(im.rel)) throw new LensError('bad-input', `image '${im.rel}' is listed twice`, source);
    seen.add(im.rel);
  }
  return images;
}
