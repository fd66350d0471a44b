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
  | 'cancelled';

export class LensError extends Error {
  constructor(
    readonly code: LensErrorCode,
    message: string,
    readonly file?: string,
  ) {
    super(file ? `${file}: ${message}` : message);
    this.name = 'LensError';
  }
}

export function isLensError(e: unknown): e is LensError {
  return e instanceof LensError;
}
