/**
 * Replaces the running binary without a moment where it is missing or half-written: the new
 * bytes are staged in a temp file beside it (same filesystem, so rename is atomic) and fsync'd;
 * the staged file can be run before anything changes (the updater's trial run). Committing
 * hard-links the current binary as `<name>.previous` for rollback and renames the staged file over
 * the binary; finally the directory is fsync'd so the rename survives a power cut.
 * The running process keeps its (now unlinked) inode and runs on until it exits.
 */
import { constants } from 'node:fs';
import { link, open, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { syncDirectory } from '../store/durable-file';

export function previousPathOf(binaryPath: string): string {
  return `${binaryPath}.previous`;
}

/** Writes the new bytes beside the binary, with its mode; resolves with the staged file's path. */
export async function stageBinary(binaryPath: string, bytes: Uint8Array): Promise<string> {
  const mode = (await stat(binaryPath)).mode & 0o7777;
  const staged = join(dirname(binaryPath), `.${basename(binaryPath)}.update-${process.pid}`);
  try {
    const handle = await open(staged, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC, mode);
    try {
      await handle.writeFile(bytes);
      await handle.chmod(mode);
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (error) {
    await discardStaged(staged);
    throw error;
  }
  return staged;
}

export async function commitStaged(binaryPath: string, staged: string): Promise<void> {
  try {
    const previous = previousPathOf(binaryPath);
    await rm(previous, { force: true });
    await link(binaryPath, previous);
    await rename(staged, binaryPath);
  } catch (error) {
    await discardStaged(staged);
    throw error;
  }
  await syncDirectory(dirname(binaryPath));
}

export async function discardStaged(staged: string): Promise<void> {
  await rm(staged, { force: true });
}
