import { join } from 'node:path';
import { readFileIfExists, writeFileAtomic } from '../store/durable-file';
import { hashPassword, isPasswordHash, MIN_PASSWORD_LENGTH, verifyPassword } from './password';

export const ADMIN_PASSWORD_FILE = 'admin-password';

/**
 * The admin password. A hash from the configuration (or EDGE_GATEWAY_ADMIN_PASSWORD_HASH) is
 * authoritative and cannot be changed from the page, so an installer can always recover a
 * forgotten password; otherwise the first visitor sets one, kept in the data folder (0600).
 */
export class AdminCredentials {
  private stored: string | undefined;

  constructor(private readonly deps: { readonly dataDir: string; readonly configuredHash?: string }) {}

  async load(): Promise<void> {
    if (this.deps.configuredHash) {
      if (!isPasswordHash(this.deps.configuredHash)) {
        throw new Error('http.adminPasswordHash is not of the form scrypt$N$r$p$salt$hash');
      }
      this.stored = this.deps.configuredHash;
      return;
    }
    const text = (await readFileIfExists(this.file))?.trim();
    this.stored = text && isPasswordHash(text) ? text : undefined;
  }

  get isSet(): boolean {
    return this.stored !== undefined;
  }

  get fromConfig(): boolean {
    return this.deps.configuredHash !== undefined;
  }

  verify(password: string): Promise<boolean> {
    return this.stored ? verifyPassword(password, this.stored) : Promise.resolve(false);
  }

  /** First run only: refuses once a password exists. */
  async setFirst(password: string): Promise<void> {
    if (this.stored) throw new Error('an admin password is already set');
    await this.write(password);
  }

  async change(current: string, next: string): Promise<void> {
    if (this.fromConfig) throw new Error('the password is set in the configuration; change it there');
    if (!(await this.verify(current))) throw new Error('the current password is wrong');
    await this.write(next);
  }

  private async write(password: string): Promise<void> {
    if (password.length < MIN_PASSWORD_LENGTH) {
      throw new Error(`use at least ${MIN_PASSWORD_LENGTH} characters`);
    }
    const hash = await hashPassword(password);
    await writeFileAtomic(this.file, `${hash}\n`);
    this.stored = hash;
  }

  private get file(): string {
    return join(this.deps.dataDir, ADMIN_PASSWORD_FILE);
  }
}
