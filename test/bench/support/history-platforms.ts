/** The credentials the history benchmark's emulated platforms and its gateway share on loopback. */
export const FARM_SICHUAN = {
  sn: 'BENCH-GW-0001',
  deviceKey: 'bench-device-key',
  sm4Key: '0123456789abcdeffedcba9876543210',
} as const;

export const FARM_DELI = {
  deviceId: 'kq01_BENCH-GW-0001',
  appId: 'bench-attendance',
  orgId: '1000001',
} as const;
