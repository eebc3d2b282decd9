import { isSea } from 'node:sea';

/**
 * The binary the updater may replace: the packaged executable itself. Run from source,
 * `process.execPath` is node, which must never be overwritten, so there is none.
 */
export function runningBinaryPath(): string | undefined {
  return isSea() ? process.execPath : undefined;
}
