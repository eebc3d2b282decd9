/**
 * The fleet link over TLS with a throwaway CA made by openssl, certificate verification on:
 * a box that trusts the CA connects, one that does not never does; a broker that asks for client
 * certificates takes a box's certificate and key and turns away a box without one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../support/tmp';
import {
  type Certificates,
  cliBundle,
  Mosquitto,
  makeCertificates,
  Recorder,
  removeCliBundle,
  runCliBundle,
  SiteProcess,
  type WatchDocument,
  waitUntil,
  writeSiteConfig,
} from './support';

let cleanup: Array<() => Promise<unknown>> = [];
let dir: string;
let certs: Certificates;
/** TLS, server certificate only. */
let broker: Mosquitto;
/** TLS with client certificates required (the certificate's CN is the user name). */
let mutual: Mosquitto;
let recorder: Recorder;

async function site(siteId: string, brokerUrl: string, fleet: Record<string, unknown>): Promise<SiteProcess> {
  const config = await writeSiteConfig({ dir, siteId, brokerUrl, fleet });
  const process = new SiteProcess(await cliBundle(), config, siteId);
  cleanup.push(() => process.kill('SIGTERM'));
  return process;
}

beforeAll(async () => {
  const tmp = await tempDir('fleet-tls-');
  dir = tmp.dir;
  cleanup.push(tmp.cleanup);
  certs = makeCertificates(dir);
  broker = new Mosquitto(dir, {
    tls: { certFile: certs.serverCert, keyFile: certs.serverKey, caFile: certs.caFile },
  });
  await broker.start();
  cleanup.push(() => broker.stop());
  const mutualDir = await tempDir('fleet-mtls-');
  cleanup.push(mutualDir.cleanup);
  mutual = new Mosquitto(mutualDir.dir, {
    tls: {
      certFile: certs.serverCert,
      keyFile: certs.serverKey,
      caFile: certs.caFile,
      requireCertificate: true,
    },
  });
  await mutual.start();
  cleanup.push(() => mutual.stop());
  // The test listens on the plain listener of the first broker; the boxes use TLS.
  recorder = await Recorder.connect(broker.url, 'edge-gateway/#');
  cleanup.push(() => recorder.end());
}, 60_000);

afterAll(async () => {
  for (const step of cleanup.reverse()) await step().catch(() => undefined);
  cleanup = [];
  removeCliBundle();
});

describe('the fleet link over TLS (mosquitto, a throwaway CA)', () => {
  it('connects with the CA given, and fleet watch reads over TLS too', async () => {
    await site('site-tls', broker.tlsUrl, { caFile: certs.caFile });
    await waitUntil(
      () => recorder.on('edge-gateway/site-tls/status').some((m) => m.json?.online === true),
      60_000,
      'site-tls online over TLS',
    );
    const watch = await runCliBundle([
      'fleet',
      'watch',
      '--broker',
      broker.tlsUrl,
      '--tls-ca',
      certs.caFile,
      '--once',
      '--json',
      '--wait',
      '1000',
    ]);
    expect(watch.stderr).toBe('');
    const doc = JSON.parse(watch.stdout) as WatchDocument;
    expect(doc.sites.find((s) => s.site === 'site-tls')).toMatchObject({ online: true });
  }, 90_000);

  it('never connects without the CA: verification stays on', async () => {
    const untrusting = await site('site-untrusting', broker.tlsUrl, {});
    await untrusting.waitFor(/"msg":"fleet link error"/, 60_000);
    expect(untrusting.output).toMatch(/"error":"[^"]*(self[- ]signed|unable to (get|verify)|certificate)/i);
    // A watcher without the CA is turned away the same way.
    const watch = await runCliBundle([
      'fleet',
      'watch',
      '--broker',
      broker.tlsUrl,
      '--once',
      '--wait',
      '500',
    ]);
    expect(watch.code).toBe(1);
    expect(watch.stderr).toMatch(/certificate/i);
    expect(recorder.on('edge-gateway/site-untrusting/status')).toEqual([]);
  }, 90_000);

  it('presents a client certificate to a broker that requires one; without one it is refused', async () => {
    const office = certs.client('office');
    const withCert = await site('site-cert', mutual.tlsUrl, {
      caFile: certs.caFile,
      ...certs.client('site-cert'),
    });
    const without = await site('site-nocert', mutual.tlsUrl, { caFile: certs.caFile });
    const watchOnce = () =>
      runCliBundle([
        'fleet',
        'watch',
        '--broker',
        mutual.tlsUrl,
        '--tls-ca',
        certs.caFile,
        '--tls-cert',
        office.certFile,
        '--tls-key',
        office.keyFile,
        '--once',
        '--json',
        '--wait',
        '1000',
      ]);
    const doc = await waitUntil(
      async () => {
        const watch = await watchOnce();
        const parsed = watch.code === 0 ? (JSON.parse(watch.stdout) as WatchDocument) : undefined;
        return parsed?.sites.some((s) => s.site === 'site-cert' && s.online === true) ? parsed : undefined;
      },
      60_000,
      'site-cert online with its certificate',
    );
    expect(withCert.output).toContain('"msg":"fleet link up"');
    await without.waitFor(/"msg":"fleet link error"/, 30_000);
    expect(without.output).not.toContain('"msg":"fleet link up"');
    expect(doc.sites.map((s) => s.site)).not.toContain('site-nocert');
  }, 120_000);
});
