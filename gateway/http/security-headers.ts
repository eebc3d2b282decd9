import type { MiddlewareHandler } from 'hono';

/**
 * Scripts and styles only from this origin, no inline script, no eval, no inline style (uPlot sizes
 * its elements through the CSSOM, which style-src does not govern); blob: images for the camera
 * preview; never framed; forms post only here.
 */
export const CONTENT_SECURITY_POLICY =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob:; media-src 'self' blob:; " +
  "connect-src 'self'; object-src 'none'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'";

const HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  // Same-origin keeps the Referer the CSRF check falls back on; nothing leaves for other sites.
  'Referrer-Policy': 'same-origin',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  // The registration form may use the camera; nothing else the browser offers.
  'Permissions-Policy': 'camera=(self), microphone=(), geolocation=(), payment=(), usb=(), serial=()',
};

/**
 * On every answer of the gateway's HTTP server (the page, the API, /healthz, /metrics, redirects,
 * errors): set after the handler ran so nothing a handler returns goes without them. An answer
 * that says nothing about caching is not cached: pages carry worker names and ID numbers.
 */
export function securityHeaders(): MiddlewareHandler {
  return async (c, next) => {
    await next();
    // c.header, not c.res.headers: a finished answer's headers may be immutable; hono copies it.
    for (const [name, value] of Object.entries(HEADERS)) c.header(name, value);
    if (!c.res.headers.has('Cache-Control')) c.header('Cache-Control', 'no-store');
  };
}
