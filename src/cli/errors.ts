/** Exit codes of the CLI contract: 0 success, 2 bad usage or bad input (one line), 1 a bug. */
import { isLensError } from '../core/errors';
import { ParamError } from '../shared/validate';

export class UsageError extends Error {}

export function reportError(e: unknown): number {
  if (isLensError(e) || e instanceof UsageError || e instanceof ParamError) {
    process.stderr.write(`relevance-lens: ${e.message.split('\n')[0]}\n`);
    return 2;
  }
  const err = e as Error;
  // Node's parseArgs errors are usage errors too.
  if (err && typeof (err as { code?: unknown }).code === 'string' && String((err as unknown as { code: string }).code).startsWith('ERR_PARSE_ARGS')) {
    process.stderr.write(`relevance-lens: ${err.message.split('\n')[0]}\n`);
    return 2;
  }
  process.stderr.write(`relevance-lens: internal error: ${err?.message ?? String(e)}\n`);
  if (process.env.RELEVANCE_LENS_DEBUG) process.stderr.write(`${err?.stack}\n`);
  return 1;
}
