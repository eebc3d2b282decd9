import type { ClockSource, StateSlot } from '../model';
import {
  COMMAND_WINDOW_SECONDS,
  type CommandBody,
  type CommandEnvelope,
  parseBody,
  parseEnvelope,
  signatureMatches,
} from './protocol';

export type RefusalReason =
  | 'disabled'
  | 'malformed'
  | 'unsigned'
  | 'bad-signature'
  | 'other-site'
  | 'expired'
  | 'future'
  | 'replayed'
  | 'busy'
  | 'bad-body';

export type Verdict =
  | { readonly ok: true; readonly envelope: CommandEnvelope; readonly body: CommandBody }
  | {
      readonly ok: false;
      readonly reason: RefusalReason;
      readonly detail: string;
      /** Present when the envelope could be read, so the refusal can name the command. */
      readonly nonce?: string;
    };

/** Nonces seen, each until it can no longer pass the time check (Unix ms). */
export type SeenNonces = Record<string, number>;

/**
 * Most nonces kept at once. Each lives about ten minutes, so this is far above what an office sends;
 * past it a command is refused as `busy` rather than let the replay check forget anything.
 */
const MAX_SEEN = 2000;

/**
 * Decides whether a command may run: signed with the site's key over body, site, time and nonce;
 * for this site; within five minutes of the box's clock either way; and never seen before. The
 * nonces seen are durable (state.json) and written before the command runs, so neither a restart
 * (the `restart` command itself) nor a crash lets a captured command be played again.
 */
export class CommandGuard {
  private writes: Promise<void> = Promise.resolve();

  constructor(
    private readonly deps: {
      readonly siteId: string;
      /** `fleet.commandKey`; without one every command is refused. */
      readonly key: string | undefined;
      readonly seen: StateSlot<SeenNonces>;
      readonly clock: ClockSource;
    },
  ) {}

  async check(payload: Buffer | string): Promise<Verdict> {
    const { siteId, key, clock } = this.deps;
    const parsed = parseEnvelope(payload);
    if (!parsed.ok) return { ok: false, reason: 'malformed', detail: parsed.error };
    const envelope = parsed.value;
    const nonce = envelope.nonce;
    if (key === undefined)
      return { ok: false, reason: 'disabled', detail: 'fleet.commandKey is not set on this box', nonce };
    if (envelope.sig === undefined) return { ok: false, reason: 'unsigned', detail: 'no sig', nonce };
    if (!signatureMatches(key, envelope))
      return { ok: false, reason: 'bad-signature', detail: 'the signature does not match', nonce };
    if (envelope.site !== siteId)
      return { ok: false, reason: 'other-site', detail: `signed for site ${envelope.site}`, nonce };
    const nowMs = clock.now();
    const ageSeconds = nowMs / 1000 - envelope.at;
    if (ageSeconds > COMMAND_WINDOW_SECONDS)
      return { ok: false, reason: 'expired', detail: `signed ${Math.round(ageSeconds)} s ago`, nonce };
    if (-ageSeconds > COMMAND_WINDOW_SECONDS)
      return { ok: false, reason: 'future', detail: `signed ${Math.round(-ageSeconds)} s ahead`, nonce };
    const claim = await this.claim(nonce, (envelope.at + COMMAND_WINDOW_SECONDS + 60) * 1000, nowMs);
    if (claim !== 'claimed') {
      const detail = claim === 'seen' ? 'this nonce was used before' : 'too many recent commands';
      return { ok: false, reason: claim === 'seen' ? 'replayed' : 'busy', detail, nonce };
    }
    const body = parseBody(envelope.body);
    if (!body.ok) return { ok: false, reason: 'bad-body', detail: body.error, nonce };
    return { ok: true, envelope, body: body.value };
  }

  /** Records the nonce durably; one write at a time, so two copies arriving together cannot both pass. */
  private claim(nonce: string, keepUntilMs: number, nowMs: number): Promise<'claimed' | 'seen' | 'full'> {
    const attempt = this.writes.then(async () => {
      const live: SeenNonces = {};
      for (const [seen, until] of Object.entries(this.deps.seen.get() ?? {}))
        if (until > nowMs) live[seen] = until;
      if (Object.hasOwn(live, nonce)) return 'seen' as const;
      if (Object.keys(live).length >= MAX_SEEN) return 'full' as const;
      live[nonce] = keepUntilMs;
      await this.deps.seen.set(live);
      return 'claimed' as const;
    });
    this.writes = attempt.then(
      () => undefined,
      () => undefined,
    );
    return attempt;
  }
}
