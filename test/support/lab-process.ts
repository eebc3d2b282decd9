import type { ChildProcess } from 'node:child_process';
import { spawnCli } from './cli';
import { HEALTH_ENV } from './health';

export interface LabProcess {
  readonly child: ChildProcess;
  readonly baseUrl: string;
  /** Everything the process logged so far (stdout + stderr). */
  output(): string;
  /** SIGTERM and wait; resolves with the exit code. */
  stop(): Promise<number | null>;
}

/** Starts `edge-gateway lab` from source in a child process and waits for its page to listen. */
export async function startLab(
  dataDir: string,
  extraArgs: readonly string[] = [],
  env: NodeJS.ProcessEnv = {},
): Promise<LabProcess> {
  // The metrics token lets tests read the full /healthz (without it: status only).
  const child = spawnCli(['lab', '--port', '0', '--data-dir', dataDir, ...extraArgs], {
    env: { ...HEALTH_ENV, ...env },
  });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`lab did not start:\n${output}`)), 30_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /"http":"[^"]*:(\d+)"/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.on('exit', (code) => reject(new Error(`lab exited with ${code}:\n${output}`)));
  });
  return {
    child,
    baseUrl: `http://127.0.0.1:${port}`,
    output: () => output,
    stop: async () => {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

export async function waitFor<T>(
  probe: () => Promise<T | undefined>,
  timeoutMs = 20_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
