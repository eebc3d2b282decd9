import { type ChildProcess, spawn } from 'node:child_process';
import { access } from 'node:fs/promises';
import { join } from 'node:path';

/** A pseudo-terminal pair made by socat: bytes written to one end come out of the other, like a wire. */
export interface PtyPair {
  readonly a: string;
  readonly b: string;
  close(): Promise<void>;
}

export async function ptyPair(dir: string): Promise<PtyPair> {
  const a = join(dir, 'ttyA');
  const b = join(dir, 'ttyB');
  const child: ChildProcess = spawn(
    'socat',
    ['-d', '-d', `pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  const failed = new Promise<never>((_, reject) => {
    child.once('error', (err) =>
      reject(new Error(`cannot run socat (apt-get install socat): ${err.message}`)),
    );
    child.once('exit', (code) => reject(new Error(`socat exited early with code ${code}`)));
  });
  failed.catch(() => undefined);
  const ready = (async () => {
    for (let i = 0; i < 100; i++) {
      try {
        await access(a);
        await access(b);
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    throw new Error('socat did not create the pty pair in 2 s');
  })();
  await Promise.race([ready, failed]);
  return {
    a,
    b,
    close: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
