import { basename } from 'node:path';
import { Low } from 'lowdb';
import type { StatePort, StateSlot } from '../model';
import { DurableJsonFile } from './json-file-adapter';

type StateDocument = Record<string, unknown>;

/**
 * The gateway's small state (terminal cursors, watermarks, clock offsets, runtime settings) in one
 * lowdb JSON file. Writes are serialized and each resolves only once the file is durable.
 * Photos, templates and punches never go here.
 */
export class StateStore implements StatePort {
  private db: Low<StateDocument> | undefined;
  private writing: Promise<void> = Promise.resolve();

  constructor(private readonly file: string) {}

  get name(): string {
    return basename(this.file);
  }

  async open(): Promise<void> {
    this.db = new Low<StateDocument>(new DurableJsonFile(this.file), {});
    await this.db.read();
  }

  slot<T>(key: string): StateSlot<T> {
    return {
      get: () => this.document()[key] as T | undefined,
      set: (value: T) => this.set(key, value),
    };
  }

  async set(key: string, value: unknown): Promise<void> {
    const db = this.requireOpen();
    db.data[key] = value;
    await this.flush();
  }

  snapshot(): Readonly<StateDocument> {
    return this.document();
  }

  /** Chains writes so two setters never race on the temp file, and each caller waits for its own data. */
  private flush(): Promise<void> {
    const db = this.requireOpen();
    const next = this.writing.then(() => db.write());
    this.writing = next.then(
      () => {
        this.lastWriteError = undefined;
      },
      (error: Error) => {
        this.lastWriteError = { message: error.message, since: this.lastWriteError?.since ?? Date.now() };
      },
    );
    return next;
  }

  /** Why the file could not be written (disk full, read-only), until a write succeeds again. */
  lastWriteError: { message: string; since: number } | undefined;

  private document(): StateDocument {
    return this.requireOpen().data;
  }

  private requireOpen(): Low<StateDocument> {
    if (!this.db) throw new Error('state store used before open()');
    return this.db;
  }
}
