/**
 * The fleet tests' real peers: Debian mosquitto in a temp folder (ACL, password file, TLS as asked),
 * gateways as real processes (the CLI bundled once with the build's own bundler, run on plain node:
 * fifty of them start in seconds on two cores, where tsx would take minutes), `fleet watch` and
 * `fleet send` from the same bundle, and a recording MQTT client.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createServer, Socket } from 'node:net';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { bundle } from '../../build/bundle';
import { REPO } from '../support/cli';

export const COMMAND_KEY = 'fleet-test-command-key-0123456789';
/** Lets a test read a site's whole /healthz (without a credential it says only whether the box is well). */
export const METRICS_TOKEN = 'fleet-test-metrics-token';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = address && typeof address === 'object' ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export async function waitUntil<T>(
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs: number,
  what: string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  await waitUntil(
    () =>
      new Promise<boolean>((resolve) => {
        const socket = new Socket();
        socket.once('connect', () => {
          socket.destroy();
          resolve(true);
        });
        socket.once('error', () => resolve(false));
        socket.connect(port, '127.0.0.1');
      }),
    timeoutMs,
    `a listener on ${port}`,
  );
}

// ───────────────────────────── mosquitto ─────────────────────────────

export interface BrokerOptions {
  /** The ACL file's text (mosquitto `acl_file`). */
  readonly acl?: string;
  /** user → password; anonymous clients are then refused. */
  readonly passwords?: Readonly<Record<string, string>>;
  /** A TLS listener with this certificate; `requireCertificate`: clients must show one signed by `caFile`. */
  readonly tls?: {
    readonly certFile: string;
    readonly keyFile: string;
    readonly caFile: string;
    readonly requireCertificate?: boolean;
  };
}

/** Debian's mosquitto on free loopback ports, persisting sessions so a restart keeps them. */
export class Mosquitto {
  private child: ChildProcess | undefined;
  port = 0;
  tlsPort = 0;

  constructor(
    private readonly dir: string,
    private readonly options: BrokerOptions = {},
  ) {}

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  get tlsUrl(): string {
    return `mqtts://127.0.0.1:${this.tlsPort}`;
  }

  async start(): Promise<void> {
    if (spawnSync('mosquitto', ['-h'], { stdio: 'ignore' }).error)
      throw new Error('mosquitto is not installed (apt-get install -y mosquitto); the fleet tests need it');
    if (this.port === 0) this.port = await freePort();
    if (this.options.tls && this.tlsPort === 0) this.tlsPort = await freePort();
    const { acl, passwords, tls } = this.options;
    const lines = [
      // As root, mosquitto would otherwise drop to a user that cannot read the temp folder.
      `user ${userInfo().username}`,
      'per_listener_settings false',
      `allow_anonymous ${passwords ? 'false' : 'true'}`,
      'persistence true',
      `persistence_location ${this.dir}/`,
      'max_queued_messages 100000',
      'log_dest none',
    ];
    if (passwords) {
      const file = join(this.dir, 'passwords');
      writeFileSync(
        file,
        Object.entries(passwords)
          .map(([u, p]) => `${u}:${p}\n`)
          .join(''),
        { mode: 0o600 },
      );
      const hashed = spawnSync('mosquitto_passwd', ['-U', file], { stdio: 'pipe' });
      if (hashed.status !== 0) throw new Error(`mosquitto_passwd failed: ${hashed.stderr}`);
      lines.push(`password_file ${file}`);
    }
    if (acl !== undefined) {
      const file = join(this.dir, 'acl');
      writeFileSync(file, acl, { mode: 0o600 });
      lines.push(`acl_file ${file}`);
    }
    lines.push(`listener ${this.port} 127.0.0.1`);
    if (tls) {
      lines.push(
        `listener ${this.tlsPort} 127.0.0.1`,
        `certfile ${tls.certFile}`,
        `keyfile ${tls.keyFile}`,
        `cafile ${tls.caFile}`,
      );
      if (tls.requireCertificate) lines.push('require_certificate true', 'use_identity_as_username true');
    }
    const conf = join(this.dir, 'mosquitto.conf');
    await writeFile(conf, `${lines.join('\n')}\n`);
    this.child = spawn('mosquitto', ['-c', conf], { stdio: 'ignore' });
    await waitForPort(this.port, 5000);
    if (tls) await waitForPort(this.tlsPort, 5000);
  }

  /** SIGTERM (mosquitto saves its sessions), then starts again on the same ports. */
  async restart(whileDown: () => Promise<void> = async () => undefined): Promise<void> {
    await this.stop();
    await whileDown();
    await this.start();
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  }
}

// ───────────────────────────── certificates ─────────────────────────────

export interface Certificates {
  readonly caFile: string;
  readonly serverCert: string;
  readonly serverKey: string;
  /** Client certificates by common name (the site id: mosquitto takes it as the user name). */
  client(name: string): { certFile: string; keyFile: string };
}

/** A throwaway CA, a server certificate for 127.0.0.1 and client certificates, made with openssl. */
export function makeCertificates(dir: string, caName = 'fleet-test-ca'): Certificates {
  const f = (name: string) => join(dir, name);
  const run = (args: string[]) => {
    const r = spawnSync('openssl', args, { stdio: 'pipe' });
    if (r.status !== 0) throw new Error(`openssl ${args[0]} failed: ${r.stderr?.toString()}`);
  };
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const prefix = caName;
  run([
    'req',
    '-x509',
    ...ec,
    '-keyout',
    f(`${prefix}.key`),
    '-out',
    f(`${prefix}.crt`),
    '-days',
    '2',
    '-subj',
    `/CN=${caName}`,
  ]);
  const issue = (name: string, ext: string) => {
    run(['req', ...ec, '-keyout', f(`${name}.key`), '-out', f(`${name}.csr`), '-subj', `/CN=${name}`]);
    writeFileSync(f(`${name}.ext`), ext);
    run([
      'x509',
      '-req',
      '-in',
      f(`${name}.csr`),
      '-CA',
      f(`${prefix}.crt`),
      '-CAkey',
      f(`${prefix}.key`),
      '-CAcreateserial',
      '-out',
      f(`${name}.crt`),
      '-days',
      '2',
      '-extfile',
      f(`${name}.ext`),
    ]);
    return { certFile: f(`${name}.crt`), keyFile: f(`${name}.key`) };
  };
  const server = issue(`${prefix}-server`, 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  return {
    caFile: f(`${prefix}.crt`),
    serverCert: server.certFile,
    serverKey: server.keyFile,
    client: (name) => issue(name, 'extendedKeyUsage=clientAuth\n'),
  };
}

// ───────────────────────────── the CLI, bundled ─────────────────────────────

let bundled: { dir: string; file: Promise<string> } | undefined;

/**
 * The CLI as one file, built by the project's own bundler (build/bundle.ts) once per test file
 * (`removeCliBundle` in its afterAll). It lives under the repository's `.tmp/` (as the benchmarks'
 * bundles do), where the packages' own look-ups for their files find the repository's package.json
 * and node_modules.
 */
export function cliBundle(): Promise<string> {
  if (!bundled) {
    mkdirSync(join(REPO, '.tmp'), { recursive: true });
    const dir = mkdtempSync(join(REPO, '.tmp', 'fleet-cli-'));
    const file = bundle({ root: REPO, outDir: dir, version: '0.0.0-fleet-test' }).then((r) => r.file);
    bundled = { dir, file };
  }
  return bundled.file;
}

export function removeCliBundle(): void {
  if (bundled) rmSync(bundled.dir, { recursive: true, force: true });
  bundled = undefined;
}

/** A long-running CLI process (a gateway, `fleet watch`), its output kept for waits and assertions. */
export class CliProcess {
  readonly child: ChildProcess;
  private text = '';
  private lines: string[] = [];
  /** Lines ever printed (the kept ones are the last of these). */
  private lineTotal = 0;
  readonly exited: Promise<number | null>;

  constructor(file: string, args: readonly string[], env: NodeJS.ProcessEnv = {}) {
    this.child = spawn(process.execPath, [file, ...args], {
      cwd: REPO,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let partial = '';
    const collect = (chunk: Buffer) => {
      const s = chunk.toString();
      this.text = (this.text + s).slice(-200_000);
      partial += s;
      const complete = partial.split('\n');
      partial = complete.pop() ?? '';
      const full = complete.filter((l) => l.length > 0);
      this.lines.push(...full);
      this.lineTotal += full.length;
      if (this.lines.length > 5000) this.lines.splice(0, this.lines.length - 5000);
    };
    this.child.stdout?.on('data', collect);
    this.child.stderr?.on('data', collect);
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)));
  }

  get output(): string {
    return this.text;
  }

  /** How many complete lines have been printed so far: a mark for `linesSince`. */
  get lineCount(): number {
    return this.lineTotal;
  }

  /** The complete lines printed after `mark` (of those kept: the last 5000). */
  linesSince(mark: number): readonly string[] {
    return this.lines.slice(Math.max(0, this.lines.length - (this.lineTotal - mark)));
  }

  waitFor(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
    return waitUntil(
      () => {
        if (this.child.exitCode !== null)
          throw new Error(`exited ${this.child.exitCode}:\n${this.text.slice(-3000)}`);
        return this.text.match(pattern) ?? undefined;
      },
      timeoutMs,
      `${pattern} in the output of ${this.child.spawnargs.slice(2, 4).join(' ')}`,
    );
  }

  kill(signal: NodeJS.Signals): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exited;
  }
}

export async function runCliBundle(
  args: readonly string[],
  timeoutMs = 30_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const file = await cliBundle();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [file, ...args], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

// ───────────────────────────── sites ─────────────────────────────

export interface SiteOptions {
  readonly dir: string;
  readonly siteId: string;
  readonly brokerUrl: string;
  /** Modbus TCP ports, one terminal each (pollSeconds 1). */
  readonly modbusPorts?: readonly number[];
  readonly fleet?: Record<string, unknown>;
  readonly name?: string;
}

/** A light site: no platforms, a Modbus emulator terminal or a few, the fleet link on. */
export async function writeSiteConfig(options: SiteOptions): Promise<string> {
  const file = join(options.dir, `${options.siteId}.json`);
  const document = {
    site: { name: options.name ?? `工地 ${options.siteId}` },
    dataDir: join(options.dir, options.siteId),
    http: { host: '127.0.0.1', port: 0, metricsToken: METRICS_TOKEN },
    adms: { host: '127.0.0.1', port: 0 },
    log: { level: 'info' },
    terminals: (options.modbusPorts ?? []).map((port, i) => ({
      id: `${options.siteId}-gate-${i + 1}`,
      driver: 'modbus',
      direction: 'state',
      transport: 'tcp',
      host: '127.0.0.1',
      port,
      pollSeconds: 1,
      timeoutMs: 500,
      // The tests stop and start terminals and wait for the sites to notice: keep the waits short.
      reconnectMaxSeconds: 2,
    })),
    fleet: {
      enabled: true,
      brokerUrl: options.brokerUrl,
      siteId: options.siteId,
      intervalSeconds: 5,
      keepaliveSeconds: 10,
      reconnectMinMs: 200,
      reconnectMaxMs: 2000,
      commandKey: COMMAND_KEY,
      ...options.fleet,
    },
  };
  await writeFile(file, JSON.stringify(document, null, 2));
  return file;
}

export const GATEWAY_STARTED = /"http":"([\d.]+:\d+)".*"msg":"gateway started"/;

/** A gateway as a real process: `node <bundle> start --config FILE`. */
export class SiteProcess extends CliProcess {
  constructor(
    file: string,
    configFile: string,
    readonly siteId: string,
    env: NodeJS.ProcessEnv = {},
  ) {
    super(file, ['start', '--config', configFile], env);
  }

  async httpAddress(timeoutMs = 60_000): Promise<string> {
    return (await this.waitFor(GATEWAY_STARTED, timeoutMs))[1]!;
  }

  async health(): Promise<{ alerts: string[]; terminals: Array<{ id: string; online: boolean }> }> {
    const response = await fetch(`http://${await this.httpAddress()}/healthz`, {
      headers: { authorization: `Bearer ${METRICS_TOKEN}` },
    });
    return (await response.json()) as { alerts: string[]; terminals: Array<{ id: string; online: boolean }> };
  }
}

// ───────────────────────────── a recording client ─────────────────────────────

export interface Received {
  readonly topic: string;
  readonly text: string;
  readonly json: Record<string, unknown> | undefined;
  readonly retain: boolean;
  readonly atMs: number;
}

/**
 * An MQTT client that records everything under `filter`. With `clientId` it keeps a session on the
 * broker (clean: false), so what is published while it reconnects after a broker restart still reaches it.
 */
export class Recorder {
  readonly messages: Received[] = [];
  private constructor(readonly client: MqttClient) {}

  static async connect(
    url: string,
    filter: string | string[],
    options: IClientOptions = {},
  ): Promise<Recorder> {
    const client = await mqtt.connectAsync(url, {
      protocolVersion: 4,
      reconnectPeriod: 300,
      ...(options.clientId ? { clean: false } : {}),
      ...options,
    });
    const recorder = new Recorder(client);
    client.on('message', (topic, payload, packet) => {
      const text = payload.toString();
      let json: Record<string, unknown> | undefined;
      try {
        json = JSON.parse(text) as Record<string, unknown>;
      } catch {
        json = undefined;
      }
      recorder.messages.push({ topic, text, json, retain: packet.retain, atMs: Date.now() });
    });
    await client.subscribeAsync(filter, { qos: 1 });
    return recorder;
  }

  on(topic: string): Received[] {
    return this.messages.filter((m) => m.topic === topic);
  }

  async end(): Promise<void> {
    await this.client.endAsync();
  }
}

/** Output lines of `fleet watch --json` as parsed documents. */
export interface WatchDocument {
  readonly at: number;
  readonly sites: ReadonlyArray<{
    site: string;
    state: string;
    online: boolean | null;
    reason?: string;
    name?: string;
    version?: string;
    terminals?: { online: number; total: number };
    backlog: Record<string, number>;
    alertCount: number;
    alerts: string[];
  }>;
}

export function watchDocuments(lines: readonly string[]): WatchDocument[] {
  return lines.filter((l) => l.startsWith('{"at"')).map((l) => JSON.parse(l) as WatchDocument);
}
