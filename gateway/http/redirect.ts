import type { Context } from 'hono';

/** Any base will do: it only has to be an origin no real path can leave without showing it. */
const PROBE_ORIGIN = 'http://same-origin.invalid';

/**
 * `target` when it is a path on this very origin, else undefined. Browsers read `\` as `/`, drop
 * tabs and newlines, and follow `//host` or `scheme:` anywhere, so a target must start with a
 * single `/`, hold no backslash and no control character, and still resolve on our origin.
 */
export function localPath(target: string | undefined): string | undefined {
  if (!target?.startsWith('/') || target.startsWith('//')) return undefined;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (/[\\\u0000-\u001f\u007f]/.test(target)) return undefined;
  try {
    return new URL(target, PROBE_ORIGIN).origin === PROBE_ORIGIN ? target : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The one way the gateway redirects: 303 See Other (a POST is followed by a GET, so a reload never
 * posts again) to a local path; anything else goes to `fallback`.
 */
export function seeOther(c: Context, target: string | undefined, fallback = '/'): Response {
  return c.redirect(localPath(target) ?? fallback, 303);
}
