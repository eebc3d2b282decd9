import { open, readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Data files hold worker identities and keys: owner-only. */
export const DATA_FILE_MODE = 0o600;
export const DATA_DIR_MODE = 0o700;

/**
 * Replaces `file` with `content` so that after a crash at any instant the file holds either the
 * old or the new content, never a mix: write a temp file, fsync it, rename over, fsync the folder.
 */
export async function writeFileAtomic(file: string, content: string | Uint8Array): Promise<void> {
  const temp = join(dirname(file), `.${basename(file)}.${process.pid}.${tempCounter++}.tmp`);
  const handle = await open(temp, 'w', DATA_FILE_MODE);
  try {
    await handle.writeFile(content);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await unlink(temp).catch(() => undefined);
    throw error;
  }
  await handle.close();
  await rename(temp, file);
  await syncDirectory(dirname(file));
}
let tempCounter = 0;

/** Makes a rename or a new file in `dir` durable. */
export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export async function readFileIfExists(file: string): Promise<string | null> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}
