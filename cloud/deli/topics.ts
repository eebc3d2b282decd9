/** Fills a topic template (`deli/device/{deviceId}/up`); the device id must not widen a subscription. */
export function topicFor(template: string, deviceId: string): string {
  if (/[+#/]/.test(deviceId)) throw new Error(`device id "${deviceId}" must not contain "+", "#" or "/"`);
  return template.replaceAll('{deviceId}', deviceId);
}
