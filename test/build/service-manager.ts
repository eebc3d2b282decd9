/**
 * The part of systemd's service manager that decides whether a crashing service comes back: the
 * unit's Restart=, RestartSec=, RestartForceExitStatus=, StartLimitIntervalSec= and
 * StartLimitBurst=, read from build/edge-gateway.service, applied to real processes (ExecStartPre
 * then ExecStart, exactly as the unit lists them, with its paths moved into a temp dir).
 */
import { type ChildProcess, spawn } from 'node:child_process';

export interface UnitCommand {
  readonly argv: readonly string[];
  /** systemd's "-" prefix: a failure is logged and ignored. */
  readonly ignoreFailure: boolean;
}

export interface UnitSettings {
  readonly restart: 'no' | 'on-failure' | 'always';
  readonly restartSec: number;
  readonly startLimitIntervalSec: number;
  readonly startLimitBurst: number;
  readonly restartForceExitStatus: readonly number[];
  readonly execStartPre: readonly UnitCommand[];
  readonly execStart: UnitCommand;
}

/** Reads the keys this simulation honours; a value it does not understand fails the test loudly. */
export function readUnit(text: string, rewrite: (word: string) => string = (w) => w): UnitSettings {
  const values = new Map<string, string[]>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith('[')) continue;
    const eq = line.indexOf('=');
    const key = line.slice(0, eq);
    values.set(key, [...(values.get(key) ?? []), line.slice(eq + 1)]);
  }
  const one = (key: string, fallback?: string): string => {
    const value = values.get(key)?.at(-1) ?? fallback;
    if (value === undefined) throw new Error(`the unit has no ${key}=`);
    return value;
  };
  const restart = one('Restart', 'no');
  if (restart !== 'no' && restart !== 'on-failure' && restart !== 'always') {
    throw new Error(`Restart=${restart} is not simulated here`);
  }
  const command = (line: string): UnitCommand => {
    const ignoreFailure = line.startsWith('-');
    const argv = line
      .replace(/^[-@:+!]+/, '')
      .split(/\s+/)
      .filter(Boolean)
      .map(rewrite);
    return { argv, ignoreFailure };
  };
  return {
    restart,
    restartSec: seconds(one('RestartSec', '0.1')),
    // systemd's defaults (DefaultStartLimitIntervalSec=10s, DefaultStartLimitBurst=5).
    startLimitIntervalSec: seconds(one('StartLimitIntervalSec', '10')),
    startLimitBurst: Number(one('StartLimitBurst', '5')),
    restartForceExitStatus: (values.get('RestartForceExitStatus') ?? [])
      .flatMap((v) => v.split(/\s+/))
      .filter(Boolean)
      .map(Number),
    execStartPre: (values.get('ExecStartPre') ?? []).map(command),
    execStart: command(one('ExecStart')),
  };
}

function seconds(value: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|min)?$/.exec(value.trim());
  if (!match) throw new Error(`cannot read the time span ${value}`);
  const n = Number(match[1]);
  return match[2] === 'ms' ? n / 1000 : match[2] === 'min' ? n * 60 : n;
}

export interface Exit {
  readonly command: string;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly output: string;
}

type State = 'idle' | 'starting' | 'running' | 'auto-restart' | 'failed' | 'inactive' | 'stopped';

/** Signals after which Restart=on-failure does not restart (systemd.service(5)). */
const CLEAN_SIGNALS = new Set(['SIGHUP', 'SIGINT', 'SIGTERM', 'SIGPIPE']);

export class SimulatedService {
  state: State = 'idle';
  /** When each start began (ms), every start, for the start-rate limit and the assertions. */
  readonly starts: number[] = [];
  /** Every process that ended: the ExecStartPre steps and the main processes. */
  readonly exits: Exit[] = [];
  private main: ChildProcess | undefined;
  private mainOutput = '';
  private stopping = false;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly unit: UnitSettings,
    private readonly cwd: string,
  ) {}

  /** The output of the main process now running (or last run). */
  get output(): string {
    return this.mainOutput;
  }

  /** `systemctl start`. */
  start(): void {
    this.loop = this.run(undefined);
  }

  /** The main process has just exited this way (the gateway that applied an update exits 75). */
  exitedWith(code: number | null, signal: NodeJS.Signals | null = null): void {
    this.loop = this.run({ command: 'main (before the test)', code, signal, output: '' });
  }

  /** `systemctl stop`: SIGTERM the main process, wait for the loop to settle. */
  async stop(): Promise<void> {
    this.stopping = true;
    const main = this.main;
    if (main && main.exitCode === null && main.signalCode === null) {
      const killer = setTimeout(() => main.kill('SIGKILL'), 10_000);
      main.kill('SIGTERM');
      await new Promise((resolve) => main.once('close', resolve));
      clearTimeout(killer);
    }
    await this.loop;
    this.state = 'stopped';
  }

  async waitFor(what: string, predicate: () => boolean, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      if (this.state === 'failed' || this.state === 'inactive' || Date.now() > deadline) {
        const last = this.exits
          .slice(-4)
          .map((e) => `${e.command}: code ${e.code} signal ${e.signal}\n${e.output.slice(-600)}`)
          .join('\n---\n');
        throw new Error(
          `waiting for ${what}: the service is ${this.state} after ${this.starts.length} start(s)\n${last}\n--- now:\n${this.mainOutput.slice(-1500)}`,
        );
      }
      await sleep(100);
    }
  }

  private shouldRestart(exit: Exit): boolean {
    if (exit.code !== null && this.unit.restartForceExitStatus.includes(exit.code)) return true;
    if (this.unit.restart === 'always') return true;
    if (this.unit.restart === 'no') return false;
    return exit.signal !== null ? !CLEAN_SIGNALS.has(exit.signal) : exit.code !== 0;
  }

  private async run(previous: Exit | undefined): Promise<void> {
    let last = previous;
    for (;;) {
      if (last) {
        if (!this.shouldRestart(last)) {
          this.state = 'inactive';
          return;
        }
        this.state = 'auto-restart';
        await sleep(this.unit.restartSec * 1000);
      }
      if (this.stopping) return;
      const now = Date.now();
      const recent = this.starts.filter((t) => now - t < this.unit.startLimitIntervalSec * 1000);
      if (recent.length >= this.unit.startLimitBurst) {
        // "Start request repeated too quickly": the unit stays failed until someone comes by.
        this.state = 'failed';
        return;
      }
      this.starts.push(now);
      this.state = 'starting';
      this.mainOutput = '';
      let preFailed: Exit | undefined;
      for (const pre of this.unit.execStartPre) {
        const exit = await this.runToEnd(pre.argv);
        this.exits.push(exit);
        const failed = exit.code !== 0;
        if (failed && !pre.ignoreFailure) {
          preFailed = exit;
          break;
        }
      }
      if (preFailed) {
        last = preFailed;
        continue;
      }
      if (this.stopping) return;
      last = await this.runMain(this.unit.execStart.argv);
      this.exits.push(last);
      if (this.stopping) return;
    }
  }

  private runToEnd(argv: readonly string[]): Promise<Exit> {
    return new Promise((resolve) => {
      const child = spawn(argv[0]!, argv.slice(1), { cwd: this.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (c: Buffer) => {
        output += c.toString();
      });
      child.stderr.on('data', (c: Buffer) => {
        output += c.toString();
      });
      // systemd reports a missing executable as exit status 203/EXEC.
      child.on('error', (error) =>
        resolve({ command: argv[0]!, code: 203, signal: null, output: error.message }),
      );
      child.on('close', (code, signal) => resolve({ command: argv[0]!, code, signal, output }));
    });
  }

  private runMain(argv: readonly string[]): Promise<Exit> {
    return new Promise((resolve) => {
      const child = spawn(argv[0]!, argv.slice(1), { cwd: this.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
      this.main = child;
      this.state = 'running';
      const collect = (c: Buffer) => {
        this.mainOutput += c.toString();
      };
      child.stdout.on('data', collect);
      child.stderr.on('data', collect);
      child.on('error', (error) =>
        resolve({ command: argv[0]!, code: 203, signal: null, output: error.message }),
      );
      child.on('close', (code, signal) =>
        resolve({ command: argv[0]!, code, signal, output: this.mainOutput }),
      );
    });
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
