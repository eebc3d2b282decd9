import type { RawPunch } from '../../gateway/model';

/** What health() shows as the terminal's last punch: set by the catch-up read and by real-time events. */
export interface PunchActivity {
  lastPunch: string | undefined;
}

/** A decoded log record or EF_ATTLOG event, as the pipeline takes it. */
export function toRawPunch(
  terminalId: string,
  r: { readonly pin: string; readonly time: string; readonly verify: number; readonly state: number },
  source: RawPunch['source'],
): RawPunch {
  return {
    terminalId,
    pin: r.pin,
    time: { wall: r.time },
    verifyCode: r.verify,
    state: r.state,
    source,
  };
}
