import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ADMIN_PASSWORD_FILE, AdminCredentials } from '../../gateway/http/admin-credentials';
import { hashPassword, verifyPassword } from '../../gateway/http/password';
import { AttemptLimiter, SessionStore } from '../../gateway/http/sessions';
import { tempDir } from '../support/tmp';

// A low scrypt cost keeps the unit tests fast; the page uses N=32768.
const FAST_N = 1024;

describe('admin password', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
  });

  it('hashes with scrypt in the documented form and verifies only the right password', async () => {
    const hash = await hashPassword('correct horse', FAST_N);
    expect(hash).toMatch(/^scrypt\$1024\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    await expect(verifyPassword('correct horse', hash)).resolves.toBe(true);
    await expect(verifyPassword('correct hors', hash)).resolves.toBe(false);
    await expect(verifyPassword('correct horse', 'scrypt$1024$8$1$AAAA$BBBB')).resolves.toBe(false);
    await expect(verifyPassword('x', 'plain-text')).resolves.toBe(false);
    expect(await hashPassword('same', FAST_N)).not.toBe(await hashPassword('same', FAST_N));
  });

  it('is set once on first run, stored 0600 in the data folder, and changed only with the current one', async () => {
    const tmp = await tempDir();
    cleanups.push(tmp.cleanup);
    const credentials = new AdminCredentials({ dataDir: tmp.dir });
    await credentials.load();
    expect(credentials.isSet).toBe(false);
    await expect(credentials.setFirst('short')).rejects.toThrow(/at least 8/);
    await credentials.setFirst('first-password');
    await expect(credentials.setFirst('another-password')).rejects.toThrow(/already set/);
    const file = join(tmp.dir, ADMIN_PASSWORD_FILE);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await readFile(file, 'utf8')).not.toContain('first-password');
    await expect(credentials.change('wrong-password', 'second-password')).rejects.toThrow(/current password/);
    await credentials.change('first-password', 'second-password');
    const reloaded = new AdminCredentials({ dataDir: tmp.dir });
    await reloaded.load();
    await expect(reloaded.verify('second-password')).resolves.toBe(true);
    await expect(reloaded.verify('first-password')).resolves.toBe(false);
  });

  it('takes a configured hash as authoritative and refuses a malformed one', async () => {
    const tmp = await tempDir();
    cleanups.push(tmp.cleanup);
    const configured = new AdminCredentials({
      dataDir: tmp.dir,
      configuredHash: await hashPassword('from-config', FAST_N),
    });
    await configured.load();
    await expect(configured.verify('from-config')).resolves.toBe(true);
    await expect(configured.change('from-config', 'new-password')).rejects.toThrow(/configuration/);
    const broken = new AdminCredentials({ dataDir: tmp.dir, configuredHash: 'letmein' });
    await expect(broken.load()).rejects.toThrow(/scrypt\$N\$r\$p\$salt\$hash/);
  });
});

describe('sessions and login attempts', () => {
  it('refuses the 11th attempt in a minute per client and lets it in again once the window passed', () => {
    let now = 0;
    const limiter = new AttemptLimiter(10, 60_000, () => now);
    for (let i = 0; i < 10; i++) {
      expect(limiter.take('a')).toBe(0);
      now += 1000;
    }
    expect(limiter.take('a')).toBeGreaterThan(0);
    expect(limiter.take('b')).toBe(0);
    now = 60_001;
    expect(limiter.take('a')).toBe(0);
  });

  it('ends idle sessions after 12 hours and every other session on demand', () => {
    let now = 0;
    const store = new SessionStore(() => now);
    const a = store.create();
    const b = store.create();
    expect(store.get(a.id)?.csrf).toBe(a.csrf);
    expect(a.csrf).not.toBe(b.csrf);
    store.destroyAllBut(a.id);
    expect(store.get(b.id)).toBeUndefined();
    now = 12 * 3_600_000 + 1;
    expect(store.get(a.id)).toBeUndefined();
    expect(store.get(undefined)).toBeUndefined();
  });
});
