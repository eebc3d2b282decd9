import {
  ACTION_TO_APP,
  ACTION_UPGRADE_INFO,
  ACTION_VERSION,
  type Envelope,
  PLATFORM_PEER,
  parseEnvelope,
} from './envelope';
import { decodeUp, type UpMessage } from './messages';

export interface CheckContext {
  readonly deviceId: string;
  readonly appId: string;
  readonly orgId: string;
  /** Seconds since the epoch, as the platform's clock says. */
  readonly nowS: number;
  readonly timeWindowSeconds: number;
}

export type CheckedEnvelope =
  | { ok: true; envelope: Envelope & { mid: string }; message: UpMessage; violations: readonly string[] }
  | { ok: false; mid?: string; violations: readonly string[] };

/**
 * Everything the platform and the app can hold a device to (docs/protocols/deli.md, envelope to check-ins).
 * A message with only soft violations (a skewed `time`, say) is still processed, as a lenient
 * platform would, but every violation is recorded.
 */
export function checkDeviceEnvelope(bytes: Buffer, ctx: CheckContext): CheckedEnvelope {
  const parsed = parseEnvelope(bytes);
  if (!parsed.ok) return { ok: false, violations: [parsed.error.message] };
  const e = parsed.envelope;
  const violations: string[] = [];
  if (e.mid === undefined) violations.push('mid missing');
  if (e.from !== ctx.deviceId)
    violations.push(`from is "${e.from}", expected the device id "${ctx.deviceId}"`);
  const toPlatform = e.action === ACTION_VERSION || e.action === ACTION_UPGRADE_INFO;
  const expectedTo = toPlatform ? PLATFORM_PEER : ctx.appId;
  if (e.to !== expectedTo) violations.push(`to is "${e.to}", expected "${expectedTo}"`);
  if (e.time === undefined) violations.push('time missing');
  else if (Math.abs(e.time - ctx.nowS) > ctx.timeWindowSeconds)
    violations.push(`time ${e.time} is ${e.time - ctx.nowS} s off the platform clock`);
  if (e.action !== ACTION_TO_APP && !toPlatform)
    violations.push(`action ${e.action} is not one a device sends`);
  const decoded = decodeUp(e);
  if (!decoded.ok)
    return {
      ok: false,
      ...(e.mid !== undefined && { mid: e.mid }),
      violations: [...violations, decoded.error.message],
    };
  const message = decoded.message;
  if (message.cmd === 'checkin') {
    if (message.orgId !== ctx.orgId) violations.push(`org_id is "${message.orgId}", expected "${ctx.orgId}"`);
    for (const u of message.users) {
      if (u.timeS > ctx.nowS + ctx.timeWindowSeconds)
        violations.push(`checkin time ${u.timeS} is in the future`);
    }
  }
  if (e.mid === undefined) return { ok: false, violations };
  return { ok: true, envelope: { ...e, mid: e.mid }, message, violations };
}
