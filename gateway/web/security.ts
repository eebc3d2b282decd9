import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';

// The security headers are set by the gateway's HTTP app (gateway/http/security-headers.ts) for
// everything it serves, /healthz and /metrics included; every redirect goes through
// gateway/http/redirect.ts (`seeOther`), which lets only a path on this origin through.

/** Largest request body the page accepts (registration carries an ID photo and a live photo). */
export const MAX_UPLOAD_BYTES = 16 * 1024 * 1024;

/** Two photos from a phone camera fit easily; anything bigger is refused before it is read. */
export function uploadLimit(): MiddlewareHandler {
  return bodyLimit({
    maxSize: MAX_UPLOAD_BYTES,
    onError: (c) => c.text(`upload too large: at most ${MAX_UPLOAD_BYTES / 1024 / 1024} MB`, 413),
  });
}
