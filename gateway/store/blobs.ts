import { createHash } from 'node:crypto';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { DATA_DIR_MODE, writeFileAtomic } from './durable-file';

/**
 * Face photos and fingerprint templates, stored once each under their sha256.
 * The roster refers to them by digest, which keeps the state file small.
 */
export class BlobStore {
  constructor(private readonly dir: string) {}

  async open(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: DATA_DIR_MODE });
  }

  async put(bytes: Uint8Array): Promise<string> {
    const digest = createHash('sha256').update(bytes).digest('hex');
    const file = this.pathOf(digest);
    const existing = await stat(file).catch(() => null);
    if (existing?.size === bytes.byteLength) return digest;
    await mkdir(join(this.dir, digest.slice(0, 2)), { recursive: true, mode: DATA_DIR_MODE });
    await writeFileAtomic(file, bytes);
    return digest;
  }

  async get(digest: string): Promise<Uint8Array> {
    if (!/^[0-9a-f]{64}$/.test(digest)) throw new Error(`not a blob digest: ${digest.slice(0, 80)}`);
    const bytes = await readFile(this.pathOf(digest));
    const actual = createHash('sha256').update(bytes).digest('hex');
    if (actual !== digest) throw new Error(`blob ${digest} is corrupt on disk (sha256 ${actual})`);
    return bytes;
  }

  async has(digest: string): Promise<boolean> {
    return (await stat(this.pathOf(digest)).catch(() => null)) !== null;
  }

  private pathOf(digest: string): string {
    return join(this.dir, digest.slice(0, 2), digest);
  }
}
