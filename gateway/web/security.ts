import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';

/** Scripts only from this origin; styles inline too (uPlot sizes its canvas with style attributes). */
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; " +
  "media-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'";

/** Largest request body the page accepts (registration carries an ID photo and a live photo). */
export const MAX_UPLOAD_BYTES = 16 * 1024 * 1024;

/** Set after the handler ran, so they are on every answer, redirects and errors included. */
export function securityHeaders(): MiddlewareHandler {
  return async (c, next) => {
    await next();
    c.header('Content-Security-Policy', CSP);
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('Referrer-Policy', 'same-origin');
    c.header('X-Frame-Options', 'DENY');
  };
}

/** Two photos from a phone camera fit easily; anything bigger is refused before it is read. */
export function uploadLimit(): MiddlewareHandler {
  return bodyLimit({
    maxSize: MAX_UPLOAD_BYTES,
    onError: (c) => c.text(`upload too large: at most ${MAX_UPLOAD_BYTES / 1024 / 1024} MB`, 413),
  });
}
