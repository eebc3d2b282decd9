import { randomInt } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { readFileIfExists, writeFileAtomic } from '../store/durable-file';
import { safeEqual } from './sessions';

export const SETUP_CODE_FILE = 'setup-code';
/** No 0/O, 1/I/L: the code is read off a log or a terminal and typed on a phone. */
const ALPHABET = '23456789ABCDEFGHJKMNPQRSTUVWXYZ';
const GROUPS = 3;
const GROUP_LENGTH = 4;

/** Upper case without spaces or dashes: `abcd-efgh-jkmn` and `ABCDEFGHJKMN` are the same code. */
export function normalizeSetupCode(code: string): string {
  return code.toUpperCase().replace(/[\s-]/g, '');
}

function newCode(): string {
  const groups: string[] = [];
  for (let g = 0; g < GROUPS; g++) {
    let group = '';
    for (let i = 0; i < GROUP_LENGTH; i++) group += ALPHABET[randomInt(ALPHABET.length)];
    groups.push(group);
  }
  return groups.join('-');
}

/** The code in `<dataDir>/setup-code`, if the gateway has written one (for `edge-gateway setup-code`). */
export async function readSetupCode(dataDir: string): Promise<string | undefined> {
  return (await readFileIfExists(join(dataDir, SETUP_CODE_FILE)))?.trim() || undefined;
}

/**
 * The one-time code that sets the first admin password. Without it, whoever reached `/setup` first
 * on the LAN (or a DNS-rebinding page in a manager's browser) would choose the password. It is
 * written to the data folder (0600) for `edge-gateway setup-code` and logged at start; it survives
 * restarts until it is used, and is gone once the password is set.
 */
export class SetupCode {
  private code: string | undefined;

  constructor(private readonly dataDir: string) {}

  /** Reads the stored code, or makes and stores a new one; returns it. */
  async prepare(): Promise<string> {
    const stored = await readSetupCode(this.dataDir);
    this.code = stored && normalizeSetupCode(stored).length === GROUPS * GROUP_LENGTH ? stored : undefined;
    if (!this.code) {
      this.code = newCode();
      await writeFileAtomic(this.file, `${this.code}\n`);
    }
    return this.code;
  }

  /** A password exists: a code left from an earlier first run must not lie around. */
  async discard(): Promise<void> {
    this.code = undefined;
    await rm(this.file, { force: true });
  }

  /**
   * Takes the code if `given` is it: from then on no one else can use it, even while the password
   * is being written. `restore` gives it back when that write fails.
   */
  claim(given: string): boolean {
    if (!this.code || !safeEqual(normalizeSetupCode(given), normalizeSetupCode(this.code))) return false;
    this.code = undefined;
    return true;
  }

  restore(code: string): void {
    this.code ??= code;
  }

  private get file(): string {
    return join(this.dataDir, SETUP_CODE_FILE);
  }
}
