/** The Node `process.arch` an ELF executable is built for, or null when it is not ELF (a script). */
export function elfArchOf(bytes: Uint8Array): string | null {
  if (
    bytes.byteLength < 20 ||
    bytes[0] !== 0x7f ||
    bytes[1] !== 0x45 ||
    bytes[2] !== 0x4c ||
    bytes[3] !== 0x46
  ) {
    return null;
  }
  const littleEndian = bytes[5] === 1;
  const machine = littleEndian ? bytes[18]! | (bytes[19]! << 8) : (bytes[18]! << 8) | bytes[19]!;
  return ELF_MACHINES[machine] ?? `elf-machine-${machine}`;
}

const ELF_MACHINES: Record<number, string> = { 3: 'ia32', 40: 'arm', 62: 'x64', 183: 'arm64' };
