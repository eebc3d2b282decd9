/**
 * Self-update: from a Deli upgrade offer (102/103/202) or a file uploaded on the page. The new
 * binary is downloaded (https, certificates verified), checked against the offered checksum and
 * the running CPU, staged beside the running one and run once (`self-check`). Only then is it
 * swapped in (the old one kept as `<name>.previous`), put on trial (see trial.ts), and the process
 * exits with RESTART_EXIT_CODE so systemd starts the new version. Anything that goes wrong before
 * the swap leaves the running binary untouched; the result says what happened and it is logged.
 */
import type { Logger, UpgradeOffer } from '../model';
import { VERSION } from '../version';
import { type ChecksumAlgorithm, checksumMatches, digestOf } from './checksum';
import { elfArchOf } from './elf';
import { commitStaged, discardStaged, previousPathOf, stageBinary } from './swap';
import { discardTrial, readRollbackNote, TRIAL_MAX_STARTS, writeTrial } from './trial';
import { TrialRunError, trialRun } from './trial-run';

/** EX_TEMPFAIL: the unit's `RestartForceExitStatus=75` restarts the service on it. */
export const RESTART_EXIT_CODE = 75;

const MAX_REDIRECTS = 5;

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
  /** How long the new binary's `self-check` may take (default 60 s: a slow ARM box, cold cache). */
  readonly trialTimeoutMs?: number;
  readonly currentVersion?: string;
  /** `update.allowInsecureHttp`: plain http downloads, for the lab and loopback only. */
  readonly allowInsecureHttp?: boolean;
}

export type UpdateFailure =
  | 'busy'
  | 'already-running'
  | 'insecure-url'
  | 'download'
  | 'too-large'
  | 'checksum'
  | 'wrong-architecture'
  | 'rolled-back'
  | 'self-check'
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
    return this.run({ version: offer.version, source: redactUrl(offer.url) }, async () => {
      if (offer.version === this.currentVersion) {
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

  private get currentVersion(): string {
    return this.deps.currentVersion ?? VERSION;
  }

  private async run(
    what: { version: string | null; source: string },
    obtain: () => Promise<{ bytes: Uint8Array; version: string | null }>,
  ): Promise<UpdateResult> {
    const { logger, binaryPath } = this.deps;
    if (this.busy) {
      return this.fail(what, new UpdateError('busy', 'an update is already in progress'));
    }
    this.busy = true;
    try {
      logger.info({ version: what.version, source: what.source }, 'update: fetching new binary');
      const { bytes, version } = await obtain();
      this.checkArchitecture(bytes);
      const sha256 = digestOf(bytes);
      await this.refuseRolledBack(sha256);
      const reported = await this.tryOut(bytes, sha256, version);
      const result: UpdateResult = {
        ok: true,
        version: version ?? reported,
        sha256,
        bytes: bytes.byteLength,
        binaryPath,
        previousPath: previousPathOf(binaryPath),
      };
      logger.warn(
        { version: result.version, reported, sha256, previous: result.previousPath },
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

  /**
   * Stages the file, runs it once, and only then swaps it in, on trial: the unit's update-guard
   * puts `.previous` back if the new version does not confirm itself healthy after a few starts.
   */
  private async tryOut(bytes: Uint8Array, sha256: string, offered: string | null): Promise<string> {
    const { binaryPath, logger } = this.deps;
    let staged: string;
    try {
      staged = await stageBinary(binaryPath, bytes);
    } catch (error) {
      throw new UpdateError('write', `cannot write beside ${binaryPath}: ${(error as Error).message}`);
    }
    let reported: string;
    try {
      reported = await trialRun(staged, this.deps.trialTimeoutMs ?? 60_000);
    } catch (error) {
      await discardStaged(staged);
      if (error instanceof TrialRunError) {
        throw new UpdateError('self-check', `the new binary failed its trial run: ${error.message}`);
      }
      throw new UpdateError('self-check', `the new binary could not be tried: ${(error as Error).message}`);
    }
    if (offered !== null && reported !== offered) {
      logger.warn({ offered, reported }, 'update: the new binary reports another version than offered');
    }
    logger.info({ version: reported, sha256 }, 'update: the new binary passed its trial run');
    try {
      await writeTrial(binaryPath, {
        from: this.currentVersion,
        to: reported,
        sha256,
        starts: 0,
        maxStarts: TRIAL_MAX_STARTS,
      });
      await commitStaged(binaryPath, staged);
    } catch (error) {
      await discardStaged(staged);
      await discardTrial(binaryPath).catch(() => undefined);
      throw new UpdateError('write', `cannot replace ${binaryPath}: ${(error as Error).message}`);
    }
    return reported;
  }

  /** The very file the guard rolled back would strand the site again: the alert stays until a fix ships. */
  private async refuseRolledBack(sha256: string): Promise<void> {
    const note = await readRollbackNote(this.deps.binaryPath).catch(() => undefined);
    if (note && note.rejectedSha256 === sha256) {
      throw new UpdateError(
        'rolled-back',
        `this binary (${note.rejected}, sha256 ${sha256.slice(0, 12)}) was rolled back on ${note.at || 'an earlier start'}: it did not confirm healthy`,
      );
    }
  }

  private fail(what: { version: string | null; source: string }, error: unknown): UpdateResult {
    const reason = error instanceof UpdateError ? error.reason : 'write';
    const message = redactUrlsIn((error as Error).message);
    this.deps.logger.error(
      { version: what.version, source: what.source, reason, error: message },
      'update failed; the running version stays',
    );
    return { ok: false, reason, error: message };
  }

  /** https with certificate verification; plain http only when the configuration allows it. */
  private checkUrl(url: string): URL {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new UpdateError('insecure-url', 'the download URL does not parse');
    }
    if (parsed.protocol === 'https:') {
      // Set for the whole process, this would make fetch accept any certificate.
      if (process.env.NODE_TLS_REJECT_UNAUTHORIZED === '0') {
        throw new UpdateError(
          'insecure-url',
          'certificate verification is off in this process (NODE_TLS_REJECT_UNAUTHORIZED=0): no binary is downloaded that way',
        );
      }
      return parsed;
    }
    if (parsed.protocol === 'http:' && this.deps.allowInsecureHttp) return parsed;
    throw new UpdateError(
      'insecure-url',
      parsed.protocol === 'http:'
        ? `${redactUrl(url)} is plain http: only https is accepted (update.allowInsecureHttp allows http, for the lab)`
        : `${parsed.protocol} URLs are not accepted: only https`,
    );
  }

  private async download(url: string): Promise<Uint8Array> {
    const limit = this.deps.maxBytes ?? 256 * 1024 * 1024;
    const signal = AbortSignal.timeout(this.deps.downloadTimeoutMs ?? 600_000);
    let response: Response;
    let current = this.checkUrl(url);
    // Redirects are followed by hand: every hop must pass the same scheme check.
    for (let hop = 0; ; hop++) {
      try {
        // Node's fetch verifies TLS certificates; nothing here turns that off.
        response = await fetch(current, { signal, redirect: 'manual' });
      } catch (error) {
        throw new UpdateError('download', `download of ${redactUrl(current.href)} failed: ${causeOf(error)}`);
      }
      const location = response.headers.get('location');
      if (response.status < 300 || response.status > 399 || !location) break;
      await response.body?.cancel().catch(() => undefined);
      if (hop >= MAX_REDIRECTS) {
        throw new UpdateError(
          'download',
          `download of ${redactUrl(url)}: more than ${MAX_REDIRECTS} redirects`,
        );
      }
      let next: string;
      try {
        next = new URL(location, current).href;
      } catch {
        throw new UpdateError('download', `download of ${redactUrl(current.href)}: unusable redirect`);
      }
      current = this.checkUrl(next);
      this.deps.logger.info({ to: redactUrl(current.href) }, 'update: download redirected');
    }
    if (!response.ok || !response.body) {
      await response.body?.cancel().catch(() => undefined);
      throw new UpdateError(
        'download',
        `download of ${redactUrl(current.href)} failed: HTTP ${response.status}`,
      );
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
      throw new UpdateError(
        'download',
        `download of ${redactUrl(current.href)} broke off: ${causeOf(error)}`,
      );
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

/** Signed download URLs carry credentials in the query string (and maybe userinfo): never log them. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  } catch {
    return '(unparseable URL)';
  }
}

/** Error texts from lower layers may quote a URL whole. */
function redactUrlsIn(text: string): string {
  return text.replace(/\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>]+/gi, (url) => redactUrl(url));
}

function causeOf(error: unknown): string {
  const err = error as Error & { cause?: Error };
  return err.cause?.message ? `${err.message} (${err.cause.message})` : err.message;
}
