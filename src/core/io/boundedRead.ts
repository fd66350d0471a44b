/**
 * Every file the engine reads goes through here, because models and images come from anywhere:
 * - only regular files: the file is opened non-blocking and fstat'ed before a byte is read, so a FIFO
 *   never blocks and a device (/dev/zero) or socket is refused;
 * - a symbolic link only when its real target lies inside the allowed roots (a weight shard: the model's
 *   folder or the workspace); the message then names the link, never the target or its size;
 * - the size is checked against a limit (and, by the caller, against what the format declares) before
 *   anything is read, and never more than the size fstat gave is read.
 */
import * as fs from 'fs';
import * as path from 'path';
import { LensError, type LensErrorCode } from '../errors';

const MiB = 1024 * 1024;

function envMiB(name: string, fallback: number): number {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v > 0 ? v * MiB : fallback;
}

/** Size limits; the model limit can be raised with RELEVANCE_LENS_MAX_MODEL_MB for very large models. */
export const LIMITS = {
  /** a model file, or the weights of one model in all (VGG16 is 528 MB) */
  modelBytes: envMiB('RELEVANCE_LENS_MAX_MODEL_MB', 1024 * MiB),
  /** a JSON document: model.json, a Keras config (the largest real ones are a few MB) */
  jsonBytes: 64 * MiB,
  /** a model card or a labels file */
  cardBytes: 16 * MiB,
  /** an image file (decoded size is bounded separately by the image side limit) */
  imageBytes: 256 * MiB,
  /** a .npy array file */
  npyBytes: 1024 * MiB,
  /** one decompressed HDF5 chunk (RELEVANCE_LENS_MAX_HDF5_CHUNK_MB) */
  hdf5ChunkBytes: envMiB('RELEVANCE_LENS_MAX_HDF5_CHUNK_MB', 256 * MiB),
};

export function formatBytes(n: number): string {
  if (n >= 1024 * MiB) return `${(n / (1024 * MiB)).toFixed(1)} GiB`;
  if (n >= MiB) return `${(n / MiB).toFixed(n >= 10 * MiB ? 0 : 1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(0)} KiB`;
  return `${n} bytes`;
}

/** Workspace folders: symlinks may point anywhere inside them (set by the extension's worker). */
let workspaceRoots: string[] = [];
export function setWorkspaceRoots(roots: readonly string[]): void {
  workspaceRoots = roots.map((r) => path.resolve(r));
}
export function getWorkspaceRoots(): readonly string[] {
  return workspaceRoots;
}

export interface BoundedReadOptions {
  /** what the file is, for messages ('weight shard', 'image'); the file name is always named */
  what?: string;
  /** refuse files larger than this */
  maxBytes: number;
  /** name of the limit for the message (e.g. 'RELEVANCE_LENS_MAX_MODEL_MB') */
  limitName?: string;
  /**
   * Folders a symlink's real target must lie in (a shard: the model's folder). Undefined: a file the
   * user named, which may be a link to any regular file (but see the workspace roots).
   */
  within?: string[];
  /** read only the first maxBytes bytes of a longer file instead of refusing it */
  prefix?: boolean;
  /** a byte range [offset, offset + length) that must lie inside the file */
  range?: { offset: number; length: number };
  /** error code (default bad-model) */
  code?: LensErrorCode;
  /** the file named in the message (default: the file read) */
  reportAs?: string;
  /** how the file is named inside the message when reportAs is another file (e.g. the shard's relative path) */
  label?: string;
}

function isInside(p: string, root: string): boolean {
  const rel = path.relative(root, p);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

function realRoot(r: string): string {
  try {
    return fs.realpathSync(r);
  } catch {
    return path.resolve(r);
  }
}

/**
 * Opens `file` for reading after the checks above; returns the fd and its size. The caller closes it.
 */
export function openRegularFile(file: string, opts: Omit<BoundedReadOptions, 'maxBytes'> & { maxBytes?: number }): { fd: number; size: number } {
  const code = opts.code ?? 'bad-model';
  const report = opts.reportAs ?? file;
  const name = opts.label ? `${opts.what ?? 'file'} '${opts.label}'` : (opts.what ?? 'file');
  const fail = (msg: string): never => {
    throw new LensError(code, `${name} ${msg}`, report);
  };
  let real: string;
  try {
    real = fs.realpathSync(file);
  } catch (e) {
    const c = (e as NodeJS.ErrnoException).code;
    return fail(c === 'ENOENT' ? 'not found' : `cannot be read (${c ?? 'error'})`);
  }
  if (real !== path.resolve(file)) {
    // a link somewhere on the path: its target must stay inside the allowed folders
    const roots = opts.within ? [...opts.within, ...workspaceRoots] : workspaceRoots.length ? workspaceRoots : undefined;
    if (roots && !roots.some((r) => isInside(real, realRoot(r)))) {
      fail(opts.within ? 'is a symbolic link to a file outside the model\'s folder and the workspace (refused)' : 'is a symbolic link to a file outside the workspace (refused)');
    }
  }
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO must not wait for a writer; O_NOCTTY: a terminal device never becomes ours
    fd = fs.openSync(real, fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0) | (fs.constants.O_NOCTTY ?? 0));
  } catch (e) {
    return fail(`cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  try {
    const st = fs.fstatSync(fd);
    if (st.isDirectory()) fail('is a folder, not a file');
    if (!st.isFile()) fail('is not a regular file (a device, pipe or socket; refused)');
    const size = st.size;
    if (opts.range) {
      const { offset, length } = opts.range;
      if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > size) {
        fail(`is too short for the declared range ${offset}..${offset + length} (${size} bytes)`);
      }
    }
    const wanted = opts.range ? opts.range.length : size;
    if (opts.maxBytes !== undefined && wanted > opts.maxBytes && !opts.prefix) {
      fail(`is ${formatBytes(wanted)}, over the limit of ${formatBytes(opts.maxBytes)}${opts.limitName ? ` (${opts.limitName})` : ''}`);
    }
    return { fd, size };
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }
}

/**
 * Fills `into` from file offset `at` (retrying EAGAIN); the bytes read, fewer at the end of the file.
 * `failure` makes the error for a read that fails, given the system's code.
 */
export function readAt(fd: number, into: Uint8Array, at: number, failure: (code: string) => LensError): number {
  let got = 0;
  while (got < into.length) {
    let n: number;
    try {
      n = fs.readSync(fd, into, got, into.length - got, at + got);
    } catch (e) {
      const c = (e as NodeJS.ErrnoException).code;
      if (c === 'EAGAIN') continue;
      throw failure(c ?? 'error');
    }
    if (n === 0) break;
    got += n;
  }
  return got;
}

/** Reads a whole regular file (or its declared range, or its first maxBytes with `prefix`) under the checks above. */
export function readBounded(file: string, opts: BoundedReadOptions): Buffer {
  const { fd, size } = openRegularFile(file, opts);
  try {
    const start = opts.range?.offset ?? 0;
    const want = opts.range ? opts.range.length : Math.min(size, opts.maxBytes);
    const buf = Buffer.allocUnsafe(want);
    // a file that shrank while read comes back short: the caller's format checks see it
    const got = readAt(fd, buf, start, (c) => new LensError(opts.code ?? 'bad-model', `${opts.what ?? 'file'} cannot be read (${c})`, opts.reportAs ?? file));
    return got === want ? buf : buf.subarray(0, got);
  } finally {
    fs.closeSync(fd);
  }
}

/** A bounded UTF-8 text file (a JSON document, a card, a labels list). */
export function readTextBounded(file: string, opts: BoundedReadOptions): string {
  return readBounded(file, opts).toString('utf8');
}

/** A whole model file the user named, bounded by LIMITS.modelBytes. */
export function readModelFile(file: string): Buffer {
  return readBounded(file, { what: 'model file', maxBytes: LIMITS.modelBytes, limitName: 'RELEVANCE_LENS_MAX_MODEL_MB' });
}
