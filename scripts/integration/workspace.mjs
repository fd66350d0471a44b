// Lays out the folder VS Code opens for the integration suite: the demo LeNet and digits (if the demo
// has been built), plus fixtures that must fail cleanly (a model.json that is not a model, a .png that
// is not an image).
import fs from 'node:fs';
import path from 'node:path';

export function prepareWorkspace(repo, ws) {
  fs.mkdirSync(ws, { recursive: true });
  for (const sub of ['lenet', 'digits']) {
    const src = path.join(repo, 'demo', sub);
    if (fs.existsSync(src)) fs.cpSync(src, path.join(ws, sub), { recursive: true });
  }
  fs.cpSync(path.join(repo, 'test/integration/fixtures'), path.join(ws, 'fixtures'), { recursive: true });
  return ws;
}
