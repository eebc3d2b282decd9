import { readFileSync } from 'node:fs';
import { validateConfig } from '../../config/load';
import type { GatewayConfig } from '../../config/schema';
import { writeFileAtomic } from '../store/durable-file';

export type ConfigDocument = Record<string, unknown> & { terminals?: unknown[] };

/**
 * Edits of the configuration file from the page. The file is read as written (secrets from the
 * environment stay out of it), changed, validated with the same schema the gateway starts with,
 * and only then replaced atomically. Edits run one at a time.
 */
export class ConfigDocumentEditor {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly file: string) {}

  /**
   * Read at once, not through libuv's thread pool: the terminals and platforms pages read it on
   * every view, and under load the pool's threads are busy with the journal's syncs and the sheet
   * writer's zip (its deflate runs there too), so an awaited read of this small file waited behind
   * them: those pages' p95 under the web benchmark was 160–190 ms, the others' ≈ 100 (docs/reports.md).
   */
  async read(): Promise<ConfigDocument> {
    const parsed: unknown = JSON.parse(readFileSync(this.file, 'utf8').replace(/^\uFEFF/, ''));
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new Error(`${this.file} does not hold a JSON object`);
    }
    return parsed as ConfigDocument;
  }

  /** Applies `change` to the document; writes it only when the result is valid. */
  edit(
    change: (document: ConfigDocument) => void,
  ): Promise<{ ok: true; config: GatewayConfig } | { ok: false; problems: string[] }> {
    const run = this.queue.then(async () => {
      const document = await this.read();
      change(document);
      const result = validateConfig(document, process.env);
      if (!result.ok) return result;
      await writeFileAtomic(this.file, `${JSON.stringify(document, null, 2)}\n`);
      return result;
    });
    this.queue = run.catch(() => undefined);
    return run;
  }
}
