import { resolve } from 'node:path';
import { isSea } from 'node:sea';

/**
 * The binary the updater may replace: the packaged executable itself. Run from source,
 * `process.execPath` is node, which must never be overwritten, so there is none, unless a wrapper
 * script that starts the gateway from source names itself in `EDGE_GATEWAY_BINARY` (the rollback
 * tests install such wrappers as the service's binary).
 */
export function runningBinaryPath(): string | undefined {
  if (isSea()) return process.execPath;
  const wrapper = process.env.EDGE_GATEWAY_BINARY;
  return wrapper ? resolve(wrapper) : undefined;
}
