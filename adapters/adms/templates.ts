import type { BiometricTemplate } from '../../gateway/model';
import type { AdmsCommand } from './commands';
import type { AdmsPhoto, AdmsTemplate } from './records';

/** The format names this family gives its templates; only equal formats are copied between terminals. */
export const FP10_FORMAT = 'zk-fp10';
/** A face photo (BIOPHOTO / USERPIC), as the Sichuan platform and Deli send faces. */
export const PHOTO_FORMAT = 'jpeg';

/** BIODATA types: 1 fingerprint, 2 near-infrared face, 9 visible-light face. */
export function templateFromAdms(t: AdmsTemplate): BiometricTemplate | undefined {
  const data = Buffer.from(t.base64, 'base64');
  if (t.type === 1) return { pin: t.pin, kind: 'fp', index: t.index, format: `zk-fp${t.majorVer}`, data };
  if (t.type === 2) return { pin: t.pin, kind: 'fa', index: 0, format: `zk-face${t.majorVer}`, data };
  if (t.type === 9) return { pin: t.pin, kind: 'fa', index: 0, format: `zk-face-vl${t.majorVer}`, data };
  return undefined;
}

export function templateFromPhoto(p: AdmsPhoto): BiometricTemplate {
  return { pin: p.pin, kind: 'fa', index: 0, format: PHOTO_FORMAT, data: Buffer.from(p.base64, 'base64') };
}

/**
 * How a template reaches the device: ZK fingerprint 10 as FINGERTMP (understood by every PUSH
 * firmware), other ZK templates as BIODATA, and any other face (a photo) as BIOPHOTO, from which
 * the device extracts its own face template.
 */
export function commandForTemplate(t: BiometricTemplate): AdmsCommand {
  const base64 = Buffer.from(t.data).toString('base64');
  const fp = /^zk-fp(\d+)$/.exec(t.format);
  if (t.kind === 'fp') {
    if (!fp) throw new Error(`fingerprint format "${t.format}" cannot be written to an ADMS terminal`);
    const majorVer = Number(fp[1]);
    return majorVer === 10
      ? { type: 'fp-update', pin: t.pin, fid: t.index, base64 }
      : { type: 'biodata-update', pin: t.pin, bioType: 1, index: t.index, majorVer, base64 };
  }
  const face = /^zk-face(-vl)?(\d+)$/.exec(t.format);
  if (face)
    return {
      type: 'biodata-update',
      pin: t.pin,
      bioType: face[1] ? 9 : 2,
      index: 0,
      majorVer: Number(face[2]),
      base64,
    };
  return { type: 'photo-update', pin: t.pin, photoType: 9, base64 };
}
