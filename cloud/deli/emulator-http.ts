import { type ServerType, serve } from '@hono/node-server';
import { Hono } from 'hono';
import type { FeatureType } from './messages';

/**
 * What the control page reaches of the emulator. Callbacks rather than the emulator class, so the
 * emulator can start this page without the two files importing each other.
 */
export interface EmulatorControl {
  /** A JSON-able summary (the emulator's `EmulatorState`). */
  state(): object;
  /** Every check-in message received, oldest first. */
  readonly checkins: readonly object[];
  readonly templates: readonly object[];
  sendUserUpdate(): Promise<string>;
  sendFeatureInput(userId: string, featureType: FeatureType): Promise<string>;
}

/**
 * Introspection and control of a running emulator for tests and lab mode:
 * GET /_emulator/state, GET /_emulator/checkins, GET /_emulator/templates,
 * POST /_emulator/user_update, POST /_emulator/feature_input {user_id, feature_type}.
 */
export function startEmulatorHttp(
  emulator: EmulatorControl,
  port: number,
): Promise<{ server: ServerType; url: string }> {
  const app = new Hono();
  app.get('/_emulator/state', (c) => c.json(emulator.state()));
  app.get('/_emulator/checkins', (c) => c.json(emulator.checkins.slice(-1000)));
  app.get('/_emulator/templates', (c) => c.json(emulator.templates));
  app.post('/_emulator/user_update', async (c) => c.json({ mid: await emulator.sendUserUpdate() }));
  app.post('/_emulator/feature_input', async (c) => {
    const body = (await c.req.json().catch(() => null)) as {
      user_id?: unknown;
      feature_type?: unknown;
    } | null;
    const userId = body?.user_id;
    const kind = body?.feature_type;
    if ((typeof userId !== 'string' && typeof userId !== 'number') || (kind !== 'fp' && kind !== 'fa'))
      return c.json({ error: 'expected {user_id, feature_type: "fp"|"fa"}' }, 400);
    return c.json({ mid: await emulator.sendFeatureInput(String(userId), kind) });
  });
  return new Promise((resolve) => {
    const server = serve({ fetch: app.fetch, port, hostname: '127.0.0.1' }, (info) =>
      resolve({ server, url: `http://127.0.0.1:${info.port}` }),
    );
  });
}
