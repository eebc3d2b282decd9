import * as v from 'valibot';
import type { GatewayConfig } from '../config/schema';
import { issueMessage } from '../config/validation';
import type { Logger, StateSlot } from './model';

/**
 * The gateway's settings that a platform may change remotely (Deli set_config): only those that
 * cannot cut the box off its terminals or its platforms. Overrides are durable and applied to the
 * live configuration, which the parts read each time they schedule (the heartbeat does).
 */
const REMOTE = {
  deviceName: v.pipe(v.string(), v.trim(), v.minLength(1), v.maxLength(64)),
  heartbeatSeconds: v.pipe(v.number(), v.integer(), v.minValue(60), v.maxValue(600)),
} as const;

type RemoteKey = keyof typeof REMOTE;
type Overrides = Partial<Record<RemoteKey, string | number>>;

export class RemoteSettingsStore {
  constructor(
    private readonly config: GatewayConfig,
    private readonly slot: StateSlot<Overrides>,
    private readonly logger: Logger,
  ) {}

  /** Applies stored overrides to the configuration before the parts are built. */
  applyStored(): void {
    for (const [key, value] of Object.entries(this.slot.get() ?? {})) this.assign(key as RemoteKey, value);
  }

  get(): Record<string, string | number> {
    return {
      deviceName: this.config.upstreams.deli.deviceName ?? this.config.site.name,
      heartbeatSeconds: this.config.upstreams.sichuan.heartbeatSeconds,
    };
  }

  async set(key: string, value: unknown): Promise<{ ok: true } | { ok: false; reason: string }> {
    if (!Object.hasOwn(REMOTE, key)) return { ok: false, reason: `${key} cannot be changed remotely` };
    const parsed = v.safeParse(REMOTE[key as RemoteKey], value, { message: issueMessage });
    if (!parsed.success) return { ok: false, reason: `${key}: ${parsed.issues[0]?.message ?? 'invalid'}` };
    await this.slot.set({ ...(this.slot.get() ?? {}), [key]: parsed.output });
    this.assign(key as RemoteKey, parsed.output);
    this.logger.info({ key, value: parsed.output }, 'setting changed remotely');
    return { ok: true };
  }

  private assign(key: RemoteKey, value: string | number): void {
    if (key === 'deviceName' && typeof value === 'string') this.config.upstreams.deli.deviceName = value;
    if (key === 'heartbeatSeconds' && typeof value === 'number')
      this.config.upstreams.sichuan.heartbeatSeconds = value;
  }
}
