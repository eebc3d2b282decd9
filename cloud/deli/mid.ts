import { createHash, randomBytes } from 'node:crypto';

/**
 * A fresh message id (16 hex characters); Deli only asks that it be unique per message
 * (docs/protocols/deli.md#envelope).
 */
export function newMid(): string {
  return randomBytes(8).toString('hex');
}

/**
 * The de-duplication key of an incoming message. The app answers one user_sync request with
 * several messages that all reuse the request's mid, so the mid alone would drop pages 2…n:
 * the key is the mid plus a digest of `data` (a QoS 1 redelivery is identical in both).
 */
export function dedupKey(mid: string, data: unknown): string {
  return `${mid}:${createHash('sha1')
    .update(JSON.stringify(data) ?? '')
    .digest('base64')}`;
}
