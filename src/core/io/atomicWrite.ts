/**
 * Output files are written to a temp file in the same directory and renamed into place, so a crash or
 * an error never leaves a half-written output (rename within one directory is atomic on POSIX and
 * replaces the target on Windows too).
 */
import * as fs from 'fs';
import * as path from 'path';
import { LensError } from '../errors';

function tempPathFor(target: string): string {
  const rand = Math.random().toString(36).slice(2, 10);
  return path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${rand}.tmp`);
}

/** Turns an fs error into a one-line LensError naming the output file; other errors pass through. */
function asWriteError(e: unknown, target: string): unknown {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code === 'string') return new LensError('bad-usage', `cannot write file (${code})`, target);
  return e;
}

export async function writeFileAtomic(target: string, data: string | Uint8Array): Promise<void> {
  await writeChunksAtomic(target, [typeof data === 'string' ? Buffer.from(data, 'utf8') : data]);
}

/** Largest piece handed to one write call (a single write() stops short of 2 GiB on Linux). */
const WRITE_PIECE = 64 << 20;

/**
 * writeFileAtomic for data produced piece by piece (a file larger than the largest Buffer, or whose
 * parts are computed as they are written): the chunks are written in order, each consumed before the
 * next is asked for.
 */
export async function writeChunksAtomic(target: string, chunks: Iterable<Uint8Array>): Promise<void> {
  const tmp = tempPathFor(target);
  try {
    const fh = await fs.promises.open(tmp, 'wx');
    try {
      for (const c of chunks) {
        for (let at = 0; at < c.byteLength;) {
          const piece = c.subarray(at, Math.min(c.byteLength, at + WRITE_PIECE));
          const { bytesWritten } = await fh.write(piece, 0, piece.byteLength);
          at += bytesWritten;
        }
      }
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fs.promises.rename(tmp, target);
  } catch (e) {
    await fs.promises.rm(tmp, { force: true }).catch(() => undefined);
    throw asWriteError(e, target);
  }
}

export function writeFileAtomicSync(target: string, data: string | Uint8Array): void {
  const tmp = tempPathFor(target);
  try {
    const fd = fs.openSync(tmp, 'wx');
    try {
      fs.writeFileSync(fd, data);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, target);
  } catch (e) {
    try {
      fs.rmSync(tmp, { force: true });
    } catch {
      // the original error matters more than a failed cleanup
    }
    throw asWriteError(e, target);
  }
}

export interface OutputFile {
  target: string;
  data: string | Uint8Array;
}

/**
 * Checks output paths before any computation: each folder exists and is writable, no target is a folder,
 * and no two outputs are the same file. A one-line LensError names the first bad one.
 */
export function checkOutputTargets(targets: readonly string[]): void {
  const seen = new Set<string>();
  for (const t of targets) {
    const abs = path.resolve(t);
    if (seen.has(abs)) throw new LensError('bad-usage', 'given as two outputs of the same command', t);
    seen.add(abs);
    const dir = path.dirname(abs);
    let st: fs.Stats;
    try {
      st = fs.statSync(dir);
    } catch {
      throw new LensError('bad-usage', `cannot write: folder ${dir} does not exist`, t);
    }
    if (!st.isDirectory()) throw new LensError('bad-usage', `cannot write: ${dir} is not a folder`, t);
    try {
      fs.accessSync(dir, fs.constants.W_OK);
    } catch {
      throw new LensError('bad-usage', `cannot write: folder ${dir} is not writable`, t);
    }
    try {
      if (fs.statSync(abs).isDirectory()) throw new LensError('bad-usage', 'cannot write: it is a folder', t);
    } catch (e) {
      if (e instanceof LensError) throw e;
    }
  }
}

/**
 * All outputs of one command, or none: every file is written to a temp name first; only when all are
 * written are they renamed into place. A failed rename puts back the files it replaced and removes
 * the ones already renamed, so an error never leaves part of a command's outputs behind.
 */
export async function writeFilesAtomic(files: readonly OutputFile[]): Promise<void> {
  checkOutputTargets(files.map((f) => f.target));
  const temps: string[] = [];
  try {
    for (const f of files) {
      const tmp = tempPathFor(f.target);
      temps.push(tmp);
      try {
        const fh = await fs.promises.open(tmp, 'wx');
        try {
          await fh.writeFile(f.data);
          await fh.sync();
        } finally {
          await fh.close();
        }
      } catch (e) {
        throw asWriteError(e, f.target);
      }
    }
  } catch (e) {
    await Promise.all(temps.map((t) => fs.promises.rm(t, { force: true }).catch(() => undefined)));
    throw e;
  }
  // commit: keep each replaced file under a backup name until every rename has succeeded
  const done: { target: string; backup?: string }[] = [];
  try {
    for (let i = 0; i < files.length; i++) {
      const target = files[i].target;
      let backup: string | undefined;
      if (fs.existsSync(target)) {
        backup = tempPathFor(target);
        await fs.promises.rename(target, backup);
      }
      done.push({ target, backup });
      await fs.promises.rename(temps[i], target);
    }
  } catch (e) {
    const failed = done[done.length - 1]?.target ?? files[0].target;
    for (const d of [...done].reverse()) {
      await fs.promises.rm(d.target, { force: true }).catch(() => undefined);
      if (d.backup) await fs.promises.rename(d.backup, d.target).catch(() => undefined);
    }
    await Promise.all(temps.map((t) => fs.promises.rm(t, { force: true }).catch(() => undefined)));
    throw asWriteError(e, failed);
  }
  await Promise.all(done.map((d) => (d.backup ? fs.promises.rm(d.backup, { force: true }).catch(() => undefined) : undefined)));
}
