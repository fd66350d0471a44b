/**
 * The `relevance-lens` binary: loads the CLI bundle (cliMain.js) with V8's code cache, one cache file per
 * command in the user's cache folder. Compiling the 2.4 MB bundle and the functions a command calls took
 * ~45 ms of every run's main thread (ResNet-50 `explain` profile: 43 ms in the bundle's compile alone),
 * a third of what the process spends before opening the model. The cache is V8's own check of source and
 * flags: a stale or corrupt file is rejected by V8 and written again after that run; a folder that cannot
 * be written only means no cache.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as vm from 'vm';
import Module = require('module');

interface CliModule { main(argv: string[]): Promise<number> }

const BUNDLE = path.join(__dirname, 'cliMain.js');

/** `$XDG_CACHE_HOME/relevance-lens/v8`, else `~/.cache/relevance-lens/v8`; RELEVANCE_LENS_CODE_CACHE=0 turns it off. */
export function codeCacheDir(): string | undefined {
  if (process.env.RELEVANCE_LENS_CODE_CACHE === '0') return undefined;
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'relevance-lens', 'v8');
}

/** The cache file for this bundle (its size and time), this Node and this command. */
function cacheFile(dir: string, command: string): string {
  const st = fs.statSync(BUNDLE);
  const key = crypto.createHash('sha1').update(`${st.size}:${st.mtimeMs}:${process.version}:${process.arch}`).digest('hex').slice(0, 16);
  return path.join(dir, `cli-${/^[a-z][a-z-]*$/.test(command) ? command : 'other'}-${key}.bin`);
}

function load(command: string): { cli: CliModule; save: () => void } {
  const source = fs.readFileSync(BUNDLE, 'utf8');
  const dir = codeCacheDir();
  const file = dir ? cacheFile(dir, command) : undefined;
  let cachedData: Buffer | undefined;
  try {
    if (file) cachedData = fs.readFileSync(file);
  } catch {
    // no cache yet
  }
  const script = new vm.Script(Module.wrap(source), { filename: BUNDLE, cachedData });
  const m = new Module(BUNDLE, module);
  m.filename = BUNDLE;
  m.paths = (Module as unknown as { _nodeModulePaths(dir: string): string[] })._nodeModulePaths(__dirname);
  const wrapper = script.runInThisContext() as (...a: unknown[]) => void;
  wrapper.call(m.exports, m.exports, Module.createRequire(BUNDLE), m, BUNDLE, __dirname);
  m.loaded = true;
  const save = (): void => {
    if (!file || (cachedData && !script.cachedDataRejected)) return;
    try {
      // after the run: the cache then holds the functions this command compiled, not the top level alone
      fs.mkdirSync(path.dirname(file), { recursive: true });
      const tmp = `${file}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, script.createCachedData());
      fs.renameSync(tmp, file);
      // the same command's caches of earlier builds
      const stem = path.basename(file).replace(/-[0-9a-f]+\.bin$/, '-');
      for (const f of fs.readdirSync(path.dirname(file))) {
        if (f.startsWith(stem) && f.endsWith('.bin') && f !== path.basename(file)) fs.rmSync(path.join(path.dirname(file), f), { force: true });
      }
    } catch {
      // an unwritable cache folder: the next run compiles again
    }
  };
  return { cli: m.exports as CliModule, save };
}

const command = process.argv[2] ?? '';
const { cli, save } = load(command);
/** main(argv) → exit code, as the bundle exports it (scripts/demo.mjs runs the CLI in-process through it). */
export const main = cli.main;

if (require.main === module) {
  cli.main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
    save();
  });
}
