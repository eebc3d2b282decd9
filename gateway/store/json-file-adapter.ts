import type { Adapter } from 'lowdb';
import { readFileIfExists, writeFileAtomic } from './durable-file';

/**
 * lowdb adapter whose writes survive power loss (lowdb's own JSONFile renames without fsync).
 * A file that does not parse is moved aside rather than silently replaced by defaults.
 */
export class DurableJsonFile<T> implements Adapter<T> {
  constructor(private readonly file: string) {}

  async read(): Promise<T | null> {
    const text = await readFileIfExists(this.file);
    if (text === null) return null;
    try {
      return JSON.parse(text) as T;
    } catch (error) {
      throw new CorruptStateError(this.file, (error as Error).message);
    }
  }

  async write(data: T): Promise<void> {
    await writeFileAtomic(this.file, `${JSON.stringify(data)}\n`);
  }
}

export class CorruptStateError extends Error {
  constructor(
    readonly file: string,
    reason: string,
  ) {
    super(
      `state file ${file} is not valid JSON (${reason}); it was not overwritten — inspect or move it aside`,
    );
    this.name = 'CorruptStateError';
  }
}
