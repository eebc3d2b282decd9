/** Logs in to a gateway's page over HTTP as the browser does and returns the session cookie (`eg_session=…`). */
export async function loginCookie(base: string, password: string): Promise<string> {
  const response = await fetch(`${base}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { origin: base, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ password }).toString(),
  });
  const cookie = response.headers.getSetCookie().find((c) => c.startsWith('eg_session='));
  if (!cookie) throw new Error(`login failed: HTTP ${response.status}`);
  return cookie.split(';')[0]!;
}
