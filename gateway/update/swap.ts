/**
 * Replaces the running binary without a moment where it is missing or half-written: the new
 * bytes go to a temp file beside it (same filesystem, so rename is atomic), are fsync'd, the
 * current binary is hard-linked as `<name>.previous` for rollback, and the temp file is renamed
 * over the binary; finally the directory is fsync'd so the rename survives a power cut.
 * The running process keeps its (now unlinked) inode and runs on until it exits.
 */
import { constants } from 'node:fs';
import { link, open, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export function previousPathOf(binaryPath: string): string {
  return `${binaryPath}.previous`;
}

export async function swapBinary(binaryPath: string, bytes: Uint8Array): Promise<void> {
  const dir = dirname(binaryPath);
  const mode = (await stat(binaryPath)).mode & 0o7777;
  const partial = join(dir, `.${basename(binaryPath)}.update-${process.pid}`);
  try {
    const handle = await open(partial, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC, mode);
    try {
      await handle.writeFile(bytes);
      await handle.chmod(mode);
      await handle.sync();
    } finally {
      await handle.close();
    }
    const previous = previousPathOf(binaryPath);
    await rm(previous, { force: true });
    await link(binaryPath, previous);
    await rename(partial, binaryPath);
  } catch (error) {
    await rm(partial, { force: true });
    throw error;
  }
  await syncDirectory(dir);
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, constants.O_RDONLY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
