// Where the integration tests keep what they download: out of the work tree's top level, under
// node_modules/.cache/relevance-lens/ (the usual place for tools' caches; `rm -rf node_modules` or a
// fresh `npm ci` clears it). CS_DIR points at another code-server install (e.g. one shared by several
// checkouts); RL_CACHE_DIR moves the whole cache.
import path from 'node:path';

export const CACHE_DIR = 'node_modules/.cache/relevance-lens';

export function cacheDir(repo, env = process.env) {
  return path.resolve(repo, env.RL_CACHE_DIR || CACHE_DIR);
}

export function codeServerDir(repo, env = process.env) {
  return env.CS_DIR ? path.resolve(repo, env.CS_DIR) : path.join(cacheDir(repo, env), 'code-server');
}
