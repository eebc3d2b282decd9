/**
 * Self-update: from a Deli upgrade offer (102/103/202) or a file uploaded on the page. The new
 * binary is downloaded, checked against the offered checksum and the running CPU, swapped in
 * beside the running one (the old one kept as `<name>.previous`), and the process exits with
 * RESTART_EXIT_CODE so systemd starts the new version. Anything that goes wrong before the swap
 * leaves the running binary untouched; the result says what happened and it is logged.
 */
import type { Logger, UpgradeOffer } from '../model';
import { VERSION } from '../version';
import { type ChecksumAlgorithm, checksumMatches, digestOf } from './checksum';
import { elfArchOf } from './elf';
import { previousPathOf, swapBinary } from './swap';

/** EX_TEMPFAIL: the unit's `RestartForceExitStatus=75` restarts the service on it. */
export const RESTART_EXIT_CODE = 75;

export interface UpdaterDeps {
  readonly logger: Logger;
  /** The file to replace: `process.execPath` in the packaged binary (see runningBinaryPath). */
  readonly binaryPath: string;
  /** Called once the new binary is in place; should stop the gateway in order, then exit. */
  readonly exit: (code: number) => void;
  /** Defaults: 256 MiB, 10 min, 500 ms (lets the page's upload request get its answer first). */
  readonly maxBytes?: number;
  readonly downloadTimeoutMs?: number;
  readonly restartDelayMs?: number;
  readonly currentVersion?: string;
}

export type UpdateFailure =
  | 'busy'
  | 'already-running'
  | 'download'
  | 'too-large'
  | 'checksum'
  | 'wrong-architecture'
  | 'write';

export type UpdateResult =
  | {
      readonly ok: true;
      readonly version: string | null;
      readonly sha256: string;
      readonly bytes: number;
      readonly binaryPath: string;
      readonly previousPath: string;
    }
  | { readonly ok: false; readonly reason: UpdateFailure; readonly error: string };

class UpdateError extends Error {
  constructor(
    readonly reason: UpdateFailure,
    message: string,
  ) {
    super(message);
  }
}

export class Updater {
  private busy = false;

  constructor(private readonly deps: UpdaterDeps) {}

  /** Downloads and installs what the platform offers. */
  applyOffer(offer: UpgradeOffer): Promise<UpdateResult> {
    return this.run({ version: offer.version, source: offer.url }, async () => {
      if (offer.version === (this.deps.currentVersion ?? VERSION)) {
        throw new UpdateError('already-running', `version ${offer.version} is already running`);
      }
      const bytes = await this.download(offer.url);
      this.verify(bytes, offer.checksum, offer.algorithm ?? 'sha256');
      return { bytes, version: offer.version };
    });
  }

  /** Installs an uploaded binary; with a checksum it is verified like an offer's download. */
  applyFile(bytes: Uint8Array, expectedChecksum?: string): Promise<UpdateResult> {
    return this.run({ version: null, source: 'upload' }, async () => {
      if (expectedChecksum) this.verify(bytes, expectedChecksum, 'sha256');
      return { bytes, version: null };
    });
  }

  private async run(
    what: { version: string | null; source: string },
    obtain: () => Promise<{ bytes: Uint8Array; version: string | null }>,
  ): Promise<UpdateResult> {
    const logger = this.deps.logger;
    if (this.busy) {
      return this.fail(what, new UpdateError('busy', 'an update is already in progress'));
    }
    this.busy = true;
    try {
      logger.info({ version: what.version, source: what.source }, 'update: fetching new binary');
      const { bytes, version } = await obtain();
      this.checkArchitecture(bytes);
      try {
        await swapBinary(this.deps.binaryPath, bytes);
      } catch (error) {
        throw new UpdateError('write', `cannot replace ${this.deps.binaryPath}: ${(error as Error).message}`);
      }
      const result: UpdateResult = {
        ok: true,
        version,
        sha256: digestOf(bytes),
        bytes: bytes.byteLength,
        binaryPath: this.deps.binaryPath,
        previousPath: previousPathOf(this.deps.binaryPath),
      };
      logger.warn(
        { version, sha256: result.sha256, previous: result.previousPath },
        'update: new binary installed; exiting so the service manager restarts it',
      );
      // The process keeps running until the caller has reported the result (the page's upload).
      setTimeout(() => this.deps.exit(RESTART_EXIT_CODE), this.deps.restartDelayMs ?? 500);
      return result;
    } catch (error) {
      this.busy = false;
      return this.fail(what, error);
    }
  }

  private fail(what: { version: string | null; source: string }, error: unknown): UpdateResult {
    const reason = error instanceof UpdateError ? error.reason : 'write';
    const message = (error as Error).message;
    this.deps.logger.error(
      { version: what.version, source: what.source, reason, error: message },
      'update failed; the running version stays',
    );
    return { ok: false, reason, error: message };
  }

  private async download(url: string): Promise<Uint8Array> {
    const limit = this.deps.maxBytes ?? 256 * 1024 * 1024;
    let response: Response;
    try {
      // Node's fetch verifies TLS certificates; nothing here turns that off.
      response = await fetch(url, { signal: AbortSignal.timeout(this.deps.downloadTimeoutMs ?? 600_000) });
    } catch (error) {
      throw new UpdateError('download', `download of ${redactUrl(url)} failed: ${causeOf(error)}`);
    }
    if (!response.ok || !response.body) {
      await response.body?.cancel().catch(() => undefined);
      throw new UpdateError('download', `download of ${redactUrl(url)} failed: HTTP ${response.status}`);
    }
    const declared = Number(response.headers.get('content-length') ?? 0);
    if (declared > limit) {
      await response.body.cancel().catch(() => undefined);
      throw new UpdateError(
        'too-large',
        `the offered binary is ${declared} bytes, over the ${limit}-byte limit`,
      );
    }
    const chunks: Uint8Array[] = [];
    let total = 0;
    try {
      for await (const chunk of response.body) {
        total += chunk.byteLength;
        if (total > limit)
          throw new UpdateError('too-large', `the download exceeded the ${limit}-byte limit`);
        chunks.push(chunk);
      }
    } catch (error) {
      if (error instanceof UpdateError) throw error;
      throw new UpdateError('download', `download of ${redactUrl(url)} broke off: ${causeOf(error)}`);
    }
    return Buffer.concat(chunks, total);
  }

  private verify(bytes: Uint8Array, expected: string, algorithm: ChecksumAlgorithm): void {
    if (!checksumMatches(bytes, expected, algorithm)) {
      throw new UpdateError(
        'checksum',
        `${algorithm} of the new binary is ${digestOf(bytes, algorithm)}, the offer says ${expected}`,
      );
    }
  }

  /** A binary for another CPU would leave the service in a restart loop. */
  private checkArchitecture(bytes: Uint8Array): void {
    if (bytes.byteLength === 0) throw new UpdateError('download', 'the new binary is empty');
    const arch = elfArchOf(bytes);
    if (arch !== null && arch !== process.arch) {
      throw new UpdateError(
        'wrong-architecture',
        `the new binary is for ${arch}, this box runs ${process.arch}`,
      );
    }
  }
}

/** Signed download URLs carry credentials in the query string: never log it. */
function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return '(unparseable URL)';
  }
}

function causeOf(error: unknown): string {
  const err = error as Error & { cause?: Error };
  return err.cause?.message ? `${err.message} (${err.cause.message})` : err.message;
}
