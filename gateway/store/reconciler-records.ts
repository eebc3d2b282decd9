import { mkdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../model';
import { AppliedDigests } from './applied-digests';
import { DATA_DIR_MODE, readFileIfExists, writeFileAtomic } from './durable-file';
import type { StateStore } from './state';

/** The folder under the data folder, one file per terminal. */
export const RECONCILER_DIR = 'reconciler';
/** Where older versions kept each record: a key of state.json per terminal. */
const STATE_KEY = /^reconciler\.([A-Za-z0-9_-]{1,64})$/;
const TERMINAL_ID = /^[A-Za-z0-9_-]{1,64}$/;
const FORMAT = 1;

/** What one reconciler remembers having written to its terminal, and how it makes that durable. */
export interface AppliedRecord {
  readonly terminalId: string;
  /** Changed in memory as writes succeed; durable only once `save` has resolved. */
  readonly digests: AppliedDigests;
  /** Makes the table durable, if it changed since the last save; resolves once it is on disk. */
  save(): Promise<void>;
}

/**
 * Each reconciler's record of what its terminal holds, in its own file
 * (`reconciler/<terminal id>.applied`): a header line, then `PIN digest` per worker. A file is
 * written only when its record changed (never for a terminal cursor or another terminal's
 * change), whole, through a temp file, fsync and rename: after a crash at any instant it holds
 * the last saved record or the one before, never a mix. In memory a record is an
 * `AppliedDigests` table (16 bytes a worker).
 *
 * Older versions kept these as `reconciler.<id>` keys of state.json, rewritten whole on every
 * terminal cursor save (3.4 MB with 20 terminals and 5,000 workers). `open` moves them here once:
 * the files first, then the keys out of state.json, so a crash in between only repeats the move.
 */
export class ReconcilerRecords {
  private readonly loaded = new Map<string, FileRecord>();
  private readonly loading = new Map<string, Promise<FileRecord>>();

  constructor(
    private readonly deps: {
      readonly dir: string;
      readonly state: StateStore;
      readonly logger: Logger;
    },
  ) {}

  get name(): string {
    return RECONCILER_DIR;
  }

  /** Why a record could not be saved (disk full, read-only), until a save works again. */
  get lastWriteError(): { message: string; since: number } | undefined {
    let worst: { message: string; since: number } | undefined;
    for (const record of this.loaded.values())
      if (record.lastWriteError && (!worst || record.lastWriteError.since < worst.since))
        worst = record.lastWriteError;
    return worst;
  }

  /** Creates the folder and moves records an older version left in state.json (state must be open). */
  async open(): Promise<void> {
    await mkdir(this.deps.dir, { recursive: true, mode: DATA_DIR_MODE });
    const snapshot = this.deps.state.snapshot();
    const moved: string[] = [];
    for (const [key, value] of Object.entries(snapshot)) {
      const id = STATE_KEY.exec(key)?.[1];
      if (!id) continue;
      const applied = (value as { applied?: unknown } | null)?.applied;
      const digests = new AppliedDigests();
      if (applied && typeof applied === 'object') {
        for (const [pin, digest] of Object.entries(applied))
          if (typeof digest === 'string') digests.set(pin, digest);
      }
      // Whatever a file says, the key is newer: only a version that knew no files wrote it.
      await writeFileAtomic(this.fileOf(id), encodeRecord(id, digests));
      moved.push(key);
    }
    if (moved.length === 0) return;
    await this.deps.state.remove(moved);
    this.deps.logger.info(
      { terminals: moved.length, dir: RECONCILER_DIR },
      'reconciler records moved out of state.json into their own files',
    );
  }

  /** The terminal's record, read once; later calls (a reloaded terminal) get the same one. */
  load(terminalId: string): Promise<AppliedRecord> {
    if (!TERMINAL_ID.test(terminalId))
      return Promise.reject(new Error(`not a terminal id: ${JSON.stringify(terminalId)}`));
    let loading = this.loading.get(terminalId);
    if (!loading) {
      loading = this.read(terminalId);
      this.loading.set(terminalId, loading);
      // A failed read (an unreadable folder) is tried again by the next caller.
      loading.catch(() => this.loading.delete(terminalId));
    }
    return loading;
  }

  private async read(terminalId: string): Promise<FileRecord> {
    const file = this.fileOf(terminalId);
    const text = await readFileIfExists(file);
    let digests = new AppliedDigests();
    if (text !== null) {
      try {
        digests = decodeRecord(terminalId, text);
      } catch (error) {
        // Only a rewrite of this terminal's users is lost: its reconciler writes whatever differs.
        const aside = `${file}.damaged-${Date.now()}`;
        await rename(file, aside).catch(() => undefined);
        this.deps.logger.warn(
          { terminalId, file, movedTo: aside, error: (error as Error).message },
          'reconciler record unreadable; moved aside, the terminal is compared with the roster afresh',
        );
      }
    }
    const record = new FileRecord(terminalId, file, digests);
    this.loaded.set(terminalId, record);
    return record;
  }

  /** Writes a terminal's record as given (the history seeder: terminals already in sync). */
  async write(terminalId: string, digests: AppliedDigests): Promise<void> {
    if (!TERMINAL_ID.test(terminalId)) throw new Error(`not a terminal id: ${JSON.stringify(terminalId)}`);
    await writeFileAtomic(this.fileOf(terminalId), encodeRecord(terminalId, digests));
  }

  private fileOf(terminalId: string): string {
    return join(this.deps.dir, `${terminalId}.applied`);
  }
}

class FileRecord implements AppliedRecord {
  private savedAt: number;
  private saving: Promise<void> | undefined;
  lastWriteError: { message: string; since: number } | undefined;

  constructor(
    readonly terminalId: string,
    private readonly file: string,
    readonly digests: AppliedDigests,
  ) {
    this.savedAt = digests.changes;
  }

  /**
   * One write at a time; a save asked for while one is in flight waits for it and then writes
   * once for every caller that came meanwhile, so a checkpoint never queues a file per caller.
   */
  async save(): Promise<void> {
    while (this.saving) await this.saving.catch(() => undefined);
    const version = this.digests.changes;
    if (version === this.savedAt) return;
    this.saving = writeFileAtomic(this.file, encodeRecord(this.terminalId, this.digests));
    try {
      await this.saving;
      this.savedAt = version;
      this.lastWriteError = undefined;
    } catch (error) {
      this.lastWriteError = {
        message: (error as Error).message,
        since: this.lastWriteError?.since ?? Date.now(),
      };
      throw error;
    } finally {
      this.saving = undefined;
    }
  }
}

/** `{"v":1,"terminal":"gate-01-in","workers":2}` then `1 4c964e38dcd7d062a94da478` per line. */
export function encodeRecord(terminalId: string, digests: AppliedDigests): string {
  const lines = [JSON.stringify({ v: FORMAT, terminal: terminalId, workers: digests.size })];
  for (const [pin, digest] of digests.entries()) lines.push(`${pin} ${digest}`);
  return `${lines.join('\n')}\n`;
}

export function decodeRecord(terminalId: string, text: string): AppliedDigests {
  const headerEnd = text.indexOf('\n');
  let header: { v?: unknown; terminal?: unknown; workers?: unknown };
  try {
    header = JSON.parse(headerEnd < 0 ? text : text.slice(0, headerEnd)) as typeof header;
  } catch {
    throw new Error('the first line is not the record header');
  }
  if (header.v !== FORMAT) throw new Error(`format ${String(header.v)} is not ${FORMAT}`);
  if (header.terminal !== terminalId) throw new Error(`the record is terminal ${String(header.terminal)}'s`);
  const expected = typeof header.workers === 'number' && header.workers > 0 ? header.workers : 0;
  const { digests, lines } = AppliedDigests.parseLines(
    text,
    headerEnd < 0 ? text.length : headerEnd + 1,
    expected,
  );
  if (header.workers !== lines || digests.size !== lines)
    throw new Error(`the header counts ${String(header.workers)} workers, the file holds ${lines}`);
  return digests;
}
