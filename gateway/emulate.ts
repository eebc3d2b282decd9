/** `edge-gateway emulate KIND …`: each terminal family and platform ships an emulator of itself. */
type EmulatorCli = (argv: string[]) => Promise<void>;

const EMULATORS: Record<string, () => Promise<EmulatorCli>> = {
  zk: async () => (await import('../adapters/zk/emulator-cli')).runEmulatorCli,
  adms: async () => (await import('../adapters/adms/emulator-cli')).runEmulatorCli,
  deli: async () => (await import('../cloud/deli/emulator-cli')).runEmulatorCli,
  sichuan: async () => (await import('../cloud/sichuan/emulator-cli')).runEmulatorCli,
  modbus: async () => (await import('../adapters/modbus/emulator-cli')).runEmulatorCli,
};

export async function runEmulator(argv: readonly string[]): Promise<number> {
  const [kind, ...rest] = argv;
  const load = kind ? EMULATORS[kind] : undefined;
  if (!load) {
    process.stderr.write(
      `usage: edge-gateway emulate ${Object.keys(EMULATORS).join('|') || 'KIND'} [options]\n`,
    );
    return 2;
  }
  const run = await load();
  await run(rest);
  return 0;
}
