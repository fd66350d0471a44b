/**
 * Two local ESLint rules that keep the module structure a newcomer can follow:
 *  - no-import-cycle: a file must not sit on an import cycle. Type-only imports are left out (erased by
 *    tsc, they cannot change load order; the op contract in ops/types.ts names the PreparedGraph it works
 *    on, and PreparedGraph looks ops up).
 *  - layer-boundaries: per folder, which folders (and bare packages) its imports may or may not reach.
 * The cycle rule needs the whole graph, so it reads every .ts file under the given roots from disk
 * (re-parsing only files whose mtime changed) and reports at the import that closes the cycle.
 * Plain CommonJS so that eslint.config.mjs and the compiled unit test can both load it.
 */
'use strict';
const fs = require('fs');
const path = require('path');
const ts = require('typescript');

/** Relative specifiers of the value imports in one file (import/export from, require(), import()). */
function valueImports(text, fileName) {
  const sf = ts.createSourceFile(fileName, text, ts.ScriptTarget.ES2022, false, ts.ScriptKind.TS);
  const out = [];
  const visit = (node) => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      out.push(node.moduleSpecifier.text);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      out.push(node.moduleSpecifier.text);
    } else if (ts.isCallExpression(node) && node.arguments.length === 1 && ts.isStringLiteral(node.arguments[0])
      && (node.expression.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(node.expression) && node.expression.text === 'require'))) {
      out.push(node.arguments[0].text);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

/** The .ts file a relative specifier names, or undefined (packages, other file kinds). */
function resolveRelative(fromFile, spec) {
  if (!spec.startsWith('.')) return undefined;
  const base = path.resolve(path.dirname(fromFile), spec);
  for (const c of [base + '.ts', path.join(base, 'index.ts'), base]) {
    if (c.endsWith('.ts') && fs.existsSync(c)) return c;
  }
  return undefined;
}

function tsFiles(dir, out) {
  let entries;
  try { entries = fs.readdirSync(dir, { withFileTypes: true }); } catch { return out; }
  for (const e of entries) {
    if (e.name === 'node_modules' || e.name.startsWith('.')) continue;
    const p = path.join(dir, e.name);
    if (e.isDirectory()) tsFiles(p, out);
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

const caches = new Map();
const REFRESH_MS = 2000;

/** file -> files it imports by value, for every .ts file under root/roots (kept per root, refreshed by mtime). */
function importGraph(root, roots) {
  const key = `${root}|${roots.join(',')}`;
  let c = caches.get(key);
  const now = Date.now();
  if (c && now - c.at < REFRESH_MS) return c.graph;
  const old = c ? c.files : new Map();
  const files = new Map();
  for (const r of roots) {
    for (const f of tsFiles(path.join(root, r), [])) {
      const mtime = fs.statSync(f).mtimeMs;
      const prev = old.get(f);
      if (prev && prev.mtime === mtime) { files.set(f, prev); continue; }
      const specs = valueImports(fs.readFileSync(f, 'utf8'), f);
      files.set(f, { mtime, targets: specs.map((s) => resolveRelative(f, s)).filter(Boolean) });
    }
  }
  const graph = new Map([...files].map(([f, e]) => [f, e.targets.filter((t) => files.has(t))]));
  c = { at: now, files, graph, sccOf: undefined };
  caches.set(key, c);
  return graph;
}

/** Strongly connected components of more than one file (or a file importing itself), as file -> component. */
function cycles(graph) {
  let index = 0;
  const idx = new Map(), low = new Map(), stack = [], on = new Set(), sccOf = new Map();
  // iterative Tarjan: the graph can be deep enough to overflow recursion
  for (const start of graph.keys()) {
    if (idx.has(start)) continue;
    const work = [[start, 0]];
    idx.set(start, index); low.set(start, index); index++; stack.push(start); on.add(start);
    while (work.length) {
      const top = work[work.length - 1];
      const [v, i] = top;
      const next = graph.get(v) || [];
      if (i < next.length) {
        top[1]++;
        const w = next[i];
        if (!idx.has(w)) {
          idx.set(w, index); low.set(w, index); index++; stack.push(w); on.add(w);
          work.push([w, 0]);
        } else if (on.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
        continue;
      }
      work.pop();
      if (work.length) { const u = work[work.length - 1][0]; low.set(u, Math.min(low.get(u), low.get(v))); }
      if (low.get(v) === idx.get(v)) {
        const comp = [];
        let w;
        do { w = stack.pop(); on.delete(w); comp.push(w); } while (w !== v);
        const selfLoop = (graph.get(v) || []).includes(v);
        if (comp.length > 1 || selfLoop) { const set = new Set(comp); for (const f of comp) sccOf.set(f, set); }
      }
    }
  }
  return sccOf;
}

/** Shortest import path from `from` to `to` inside one component (for the message). */
function pathWithin(graph, comp, from, to) {
  const prev = new Map([[from, null]]);
  const queue = [from];
  while (queue.length) {
    const v = queue.shift();
    if (v === to) break;
    for (const w of graph.get(v) || []) if (comp.has(w) && !prev.has(w)) { prev.set(w, v); queue.push(w); }
  }
  const out = [];
  for (let v = to; v !== null && v !== undefined; v = prev.get(v)) out.unshift(v);
  return out;
}

/** Every file on a cycle with one cycle through it, for scripts and tests: [{ file, cycle: [files] }]. */
function findCycles(root, roots) {
  const graph = importGraph(root, roots);
  const sccOf = cycles(graph);
  return [...sccOf.keys()].sort().map((f) => {
    const next = graph.get(f).find((t) => sccOf.get(f).has(t));
    return { file: f, cycle: [f, ...pathWithin(graph, sccOf.get(f), next, f)] };
  });
}

function importSpecifierNodes(program) {
  const out = [];
  for (const s of program.body) {
    if ((s.type === 'ImportDeclaration' || s.type === 'ExportAllDeclaration' || s.type === 'ExportNamedDeclaration') && s.source) {
      out.push({ node: s.source, spec: s.source.value });
    }
  }
  return out;
}

const noImportCycle = {
  meta: {
    type: 'problem',
    docs: { description: 'A module must not sit on an import cycle (type-only imports included: they couple the modules just the same).' },
    schema: [{ type: 'object', properties: { roots: { type: 'array', items: { type: 'string' } } }, additionalProperties: false }],
    messages: { cycle: 'import cycle: {{chain}}' },
  },
  create(context) {
    const root = context.cwd;
    const roots = (context.options[0] && context.options[0].roots) || ['src'];
    return {
      Program(program) {
        const file = path.resolve(context.filename);
        const graph = importGraph(root, roots);
        const entry = caches.get(`${root}|${roots.join(',')}`);
        entry.sccOf ??= cycles(graph);
        const comp = entry.sccOf.get(file);
        if (!comp) return;
        for (const { node, spec } of importSpecifierNodes(program)) {
          const target = resolveRelative(file, spec);
          if (!target || !comp.has(target)) continue;
          const chain = [file, ...pathWithin(graph, comp, target, file)].map((f) => path.relative(root, f)).join(' → ');
          context.report({ node, messageId: 'cycle', data: { chain } });
        }
      },
    };
  },
};

const layerBoundaries = {
  meta: {
    type: 'problem',
    docs: { description: 'Imports from a folder reach only the folders (and packages) its layer allows.' },
    schema: [{
      type: 'array',
      items: {
        type: 'object',
        properties: {
          from: { type: 'string' },
          only: { type: 'array', items: { type: 'string' } },
          forbid: { type: 'array', items: { type: 'string' } },
          why: { type: 'string' },
        },
        required: ['from'],
        additionalProperties: false,
      },
    }],
    messages: { forbidden: "{{from}} must not import '{{spec}}': {{why}}" },
  },
  create(context) {
    const root = context.cwd;
    const file = path.resolve(context.filename);
    const inside = (p, dir) => { const r = path.relative(path.join(root, dir), p); return r === '' || (!r.startsWith('..') && !path.isAbsolute(r)); };
    const layers = (context.options[0] || []).filter((l) => inside(file, l.from));
    if (layers.length === 0) return {};
    const check = (node, spec) => {
      const target = spec.startsWith('.') ? path.resolve(path.dirname(file), spec) : undefined;
      for (const l of layers) {
        let bad;
        if (target) {
          bad = (l.only && !l.only.some((d) => inside(target, d))) || (l.forbid && l.forbid.some((d) => inside(target, d)));
        } else {
          const pkg = spec.split('/')[0];
          bad = l.forbid && l.forbid.some((d) => d === spec || d === pkg);
        }
        if (bad) {
          context.report({ node, messageId: 'forbidden', data: { from: l.from, spec, why: l.why || 'outside its layer' } });
          return;
        }
      }
    };
    return {
      ImportDeclaration(n) { check(n.source, n.source.value); },
      ExportAllDeclaration(n) { check(n.source, n.source.value); },
      ExportNamedDeclaration(n) { if (n.source) check(n.source, n.source.value); },
      ImportExpression(n) { if (n.source.type === 'Literal' && typeof n.source.value === 'string') check(n.source, n.source.value); },
      CallExpression(n) {
        if (n.callee.type === 'Identifier' && n.callee.name === 'require' && n.arguments.length === 1
          && n.arguments[0].type === 'Literal' && typeof n.arguments[0].value === 'string') check(n.arguments[0], n.arguments[0].value);
      },
    };
  },
};

module.exports = {
  plugin: { meta: { name: 'relevance-lens-local' }, rules: { 'no-import-cycle': noImportCycle, 'layer-boundaries': layerBoundaries } },
  findCycles,
  valueImports,
};
