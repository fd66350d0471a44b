/**
 * Errors the user can act on (bad model, bad image, bad usage). Anything else that escapes is a bug.
 * The message is one line and names the file when there is one.
 */
export type LensErrorCode =
  | 'bad-usage'
  | 'bad-model'
  | 'missing-weights'
  | 'unsupported-op'
  | 'bad-input'
  | 'bad-image'
  | 'bad-card'
  | 'bad-patterns'
  | 'non-finite'
  | 'out-of-memory'
  | 'cancelled';

function oneLine(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

export class LensError extends Error {
  constructor(
    readonly code: LensErrorCode,
    message: string,
    readonly file?: string,
  ) {
    // names inside a file may hold newlines or terminal escapes: the message stays one printable line
    super(oneLine(file ? `${file}: ${message}` : message));
    this.name = 'LensError';
  }
}

export function isLensError(e: unknown): e is LensError {
  return e instanceof LensError;
}
