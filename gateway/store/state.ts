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

  /** Drops keys (records that moved to their own files) with one write. */
  async remove(keys: readonly string[]): Promise<void> {
    const db = this.requireOpen();
    for (const key of keys) delete db.data[key];
    await this.flush();
  }

  snapshot(): Readonly<StateDocument> {
    return this.document();
  }

  /**
   * Chains writes so two setters never race on the temp file, and each caller waits for its own
   * data. Setters that come while a write is out share the next one (group commit): at start every
   * terminal saves its first cursor at about the same moment, and 20 of them cost two writes, not 20.
   */
  private flush(): Promise<void> {
    if (this.queued) return this.queued;
    const db = this.requireOpen();
    const next = this.writing.then(() => {
      // From here on a new setter's data may miss this write: it queues the next one.
      this.queued = undefined;
      return db.write();
    });
    this.queued = next;
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

  /** The write not yet begun, which a setter joins instead of queuing its own. */
  private queued: Promise<void> | undefined;

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
