import { deviceIdProblem } from '../../config/forms';

/**
 * Fills a topic template (`deli/device/{deviceId}/up`; the names are ours, docs/protocols/deli.md#topics);
 * the device id must not widen a subscription.
 */
export function topicFor(template: string, deviceId: string): string {
  const problem = deviceIdProblem(deviceId);
  if (problem !== undefined) throw new Error(`device id "${deviceId}" ${problem}`);
  return template.replaceAll('{deviceId}', deviceId);
}
