/**
 * Runs a staged binary once, before it replaces the running one. A file that passes the checksum,
 * the size and the CPU checks can still be truncated or crash at start (SIGSEGV in 0.1 s); swapped
 * in, it would take the site down at every restart. `self-check` loads every embedded part and
 * prints `self-check ok <version>`; anything else refuses the file.
 */
import { execFile } from 'node:child_process';
import { dirname } from 'node:path';

export const SELF_CHECK_COMMAND = 'self-check';
const SELF_CHECK_OK = /^self-check ok (\S+)\s*$/m;

export class TrialRunError extends Error {}

/** Resolves with the version the new binary reports; rejects with TrialRunError saying why not. */
export function trialRun(file: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      [SELF_CHECK_COMMAND],
      {
        cwd: dirname(file),
        timeout: timeoutMs,
        killSignal: 'SIGKILL',
        maxBuffer: 1024 * 1024,
        encoding: 'utf8',
      },
      (error, stdout, stderr) => {
        const ok = SELF_CHECK_OK.exec(stdout);
        if (!error && ok) {
          resolve(ok[1]!);
          return;
        }
        reject(
          new TrialRunError(`\`${SELF_CHECK_COMMAND}\` ${outcome(error, timeoutMs)}${tail(stderr, stdout)}`),
        );
      },
    );
  });
}

function outcome(
  error: (Error & { code?: unknown; signal?: unknown; killed?: boolean }) | null,
  timeoutMs: number,
): string {
  if (!error) return 'exited 0 without reporting "self-check ok <version>"';
  if (error.killed && error.signal === 'SIGKILL')
    return `did not finish within ${Math.round(timeoutMs / 1000)} s`;
  if (typeof error.signal === 'string' && error.signal) return `was killed by ${error.signal}`;
  if (typeof error.code === 'number') return `exited with ${error.code}`;
  return `could not run: ${error.message}`;
}

/** The last words the binary said, enough to see why, never the whole output. */
function tail(stderr: string, stdout: string): string {
  const text = (stderr.trim() || stdout.trim()).split('\n').slice(-3).join(' | ');
  return text ? `: ${text.length > 300 ? `…${text.slice(-300)}` : text}` : '';
}
