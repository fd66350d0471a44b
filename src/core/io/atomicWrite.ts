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
  const tmp = tempPathFor(target);
  try {
    const fh = await fs.promises.open(tmp, 'wx');
    try {
      await fh.writeFile(data);
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
