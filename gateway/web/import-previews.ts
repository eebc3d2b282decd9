import { randomBytes } from 'node:crypto';
import type { ImportPlan } from './import-plan';

/** An uploaded file's plan, waiting for the manager to apply it. */
export interface StoredPreview {
  readonly fileName: string;
  readonly format: 'xlsx' | 'csv';
  readonly plan: ImportPlan;
}

/** What applying a preview did. */
export type ImportResult =
  | {
      readonly ok: true;
      readonly applied: readonly string[];
      readonly skipped: number;
      readonly gone: number;
    }
  | { readonly ok: false; readonly error: string };

interface Entry {
  readonly owner: string;
  readonly createdMs: number;
  preview?: StoredPreview;
  result?: Promise<ImportResult>;
}

/** How long a preview may wait for "apply", and how long its result stays to be shown. */
export const PREVIEW_TTL_MS = 30 * 60_000;
/** Previews kept at once (the oldest goes first): each holds up to 10,000 rows in memory. */
const MAX_KEPT = 8;
/** 144 random bits, URL-safe: a token cannot be guessed, and it only works for its session anyway. */
const TOKEN = /^[A-Za-z0-9_-]{24}$/;

/**
 * Previews of the team import, kept in memory under a random token, for the session that uploaded
 * the file and for a limited time. A preview is applied at most once (`claim`).
 */
export class ImportPreviews {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly now: () => number = Date.now) {}

  put(owner: string, preview: StoredPreview): string {
    this.sweep();
    while (this.entries.size >= MAX_KEPT) this.entries.delete(this.entries.keys().next().value!);
    const token = randomBytes(18).toString('base64url');
    this.entries.set(token, { owner, createdMs: this.now(), preview });
    return token;
  }

  /** The preview, still waiting to be applied, if `owner` uploaded it and it has not expired. */
  peek(owner: string, token: string): StoredPreview | undefined {
    return this.entry(owner, token)?.preview;
  }

  /**
   * Applies the preview with `apply`, once: a second call (a double click, a re-sent form) gets the
   * first call's result, never a second application. Undefined for a token unknown to `owner` or expired.
   */
  claim(
    owner: string,
    token: string,
    apply: (preview: StoredPreview) => Promise<ImportResult>,
  ): Promise<ImportResult> | undefined {
    const entry = this.entry(owner, token);
    if (!entry) return undefined;
    if (!entry.result && entry.preview) {
      const preview = entry.preview;
      entry.preview = undefined;
      entry.result = apply(preview).catch((error: unknown) => ({
        ok: false,
        error: (error as Error).message,
      }));
    }
    return entry.result;
  }

  /** What applying the preview did (waits for it when it is still going). */
  result(owner: string, token: string): Promise<ImportResult> | undefined {
    return this.entry(owner, token)?.result;
  }

  private entry(owner: string, token: string): Entry | undefined {
    if (!TOKEN.test(token)) return undefined;
    const entry = this.entries.get(token);
    if (!entry || entry.owner !== owner) return undefined;
    if (this.now() - entry.createdMs > PREVIEW_TTL_MS) {
      this.entries.delete(token);
      return undefined;
    }
    return entry;
  }

  private sweep(): void {
    const now = this.now();
    for (const [token, entry] of this.entries) {
      if (now - entry.createdMs > PREVIEW_TTL_MS) this.entries.delete(token);
    }
  }
}
