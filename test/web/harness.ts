import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { ModbusEmulator } from '../../adapters/modbus/emulator';
import { ZkEmulator } from '../../adapters/zk/emulator';
import { SichuanEmulator } from '../../cloud/sichuan/emulator';
import labProfile from '../../config/lab.json' with { type: 'json' };
import { validateConfig } from '../../config/load';
import { Gateway } from '../../gateway/controller';
import { LAB_WORKERS } from '../../gateway/lab';
import { testLogger } from '../support/logger';
import { tempDir } from '../support/tmp';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/**
 * Names a hostile page would use, resolved by the browser to the gateway on loopback: what DNS
 * rebinding does (a site's own name re-pointed at the box), without a DNS server.
 */
export const REBOUND_NAMES = ['evil.example', 'rebind.example'] as const;

export function launchBrowser(): Promise<Browser> {
  const rules = [...REBOUND_NAMES, CONFIGURED_HOST].map((name) => `MAP ${name} 127.0.0.1`).join(', ');
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_ARGS, `--host-resolver-rules=${rules}`],
  });
}

export const API_TOKEN = 'web-test-api-token-0123456789';
/** `http.metricsToken` of the web lab: with it /healthz shows everything. */
export const METRICS_TOKEN = 'web-test-metrics-token-0123456789';
/** A name the web lab is configured to answer to (`http.allowedHosts`) besides its own. */
export const CONFIGURED_HOST = 'gateway.site.test';

const LAB_SICHUAN = {
  sn: 'LAB-GW-0001',
  deviceKey: 'lab-device-key',
  sm4Key: '0123456789abcdeffedcba9876543210',
};

export interface WebLab {
  readonly gateway: Gateway;
  readonly modbus: ModbusEmulator;
  readonly sichuan: SichuanEmulator;
  /** The ZK terminal `lab-zk`, when asked for: it holds users and enrols fingerprints. */
  readonly zk?: ZkEmulator;
  readonly baseUrl: string;
  readonly configFile: string;
  /** The one-time code the first-run page asks for, as the gateway wrote it to its data folder. */
  setupCode(): Promise<string>;
  stop(): Promise<void>;
}

export interface WebLabOptions {
  /** Adds a ZK terminal (`lab-zk`, emulated) beside the turnstile, for roster sync and enrolment. */
  readonly zk?: boolean;
}

/**
 * Lab mode in-process (what `edge-gateway lab` runs): a Modbus turnstile and the Sichuan platform
 * emulated on loopback, the gateway on port 0 with its config written to a file the page edits.
 */
export async function startWebLab(options: WebLabOptions = {}): Promise<WebLab> {
  const tmp = await tempDir('edge-gw-web-');
  // Strict: refuses a wrong ID check character or a photo that is not an image, as the real platform does.
  const sichuan = new SichuanEmulator({
    ...LAB_SICHUAN,
    host: '127.0.0.1',
    port: 0,
    strictRegistration: true,
  });
  const baseUrl = await sichuan.start();
  const modbus = new ModbusEmulator({ transport: 'tcp', host: '127.0.0.1', port: 0 }, {});
  await modbus.start();
  const zk = options.zk ? new ZkEmulator({ port: 0, users: 0, records: 0, enrolDelayMs: 500 }) : undefined;
  const zkPort = await zk?.start();
  const document = structuredClone(labProfile) as Record<string, unknown>;
  document.dataDir = join(tmp.dir, 'data');
  document.http = {
    host: '127.0.0.1',
    port: 0,
    apiToken: API_TOKEN,
    metricsToken: METRICS_TOKEN,
    allowedHosts: [CONFIGURED_HOST],
  };
  document.terminals = [
    {
      id: 'lab-turnstile',
      name: '北门闸机 (Modbus)',
      driver: 'modbus',
      direction: 'state',
      transport: 'tcp',
      host: '127.0.0.1',
      port: modbus.address().port,
      pollSeconds: 0.5,
    },
  ];
  if (zk) {
    (document.terminals as unknown[]).push({
      id: 'lab-zk',
      name: '东门指纹机 (ZK)',
      driver: 'zk',
      direction: 'in',
      transport: 'tcp',
      host: '127.0.0.1',
      port: zkPort,
      pollSeconds: 1,
    });
  }
  document.upstreams = { sichuan: { enabled: true, baseUrl, ...LAB_SICHUAN, heartbeatSeconds: 60 } };
  const result = validateConfig(document);
  if (!result.ok) throw new Error(result.problems.join('\n'));
  const configFile = join(tmp.dir, 'config.json');
  await writeFile(configFile, `${JSON.stringify(document, null, 2)}\n`);
  const gateway = new Gateway(result.config, testLogger('web'), { configFile, httpPort: 0 });
  await gateway.start();
  await gateway.workers.apply(
    LAB_WORKERS.map((name, i) => ({
      source: 'local' as const,
      op: 'upsert' as const,
      identity: { gatewayId: `lab-worker-${i + 1}`, sichuanUserId: `SC-LAB-${i + 1}` },
      name,
    })),
  );
  return {
    gateway,
    modbus,
    sichuan,
    zk,
    configFile,
    baseUrl: `http://127.0.0.1:${gateway.httpPort}`,
    setupCode: async () => (await readFile(join(gateway.dataDir, 'setup-code'), 'utf8')).trim(),
    stop: async () => {
      await gateway.stop();
      await modbus.stop();
      await zk?.stop();
      await sichuan.stop();
      await tmp.cleanup();
    },
  };
}
