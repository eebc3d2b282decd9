import type { BiometricTemplate, TerminalUser, UserWithTemplates } from '../../gateway/model';
import { TerminalFullError } from '../../gateway/model';
import { recordSize } from './attendance-stream';
import type { ZkConnection } from './connection';
import { Cmd } from './constants';
import {
  decodeTemplateRecords,
  decodeUser28,
  decodeUser72,
  encodeUser28,
  encodeUser72,
  splitTable,
  type ZkUser,
} from './records';
import { READ_TEMPLATES, READ_USERS } from './requests';
import { isAccepted, ZkReplyError } from './session';
import { encodeUserTemplates, SAVE_USERTEMPS_ARGS, type ZkUserTemplates } from './user-templates';

export const MAX_PIN_LENGTH = 9;
/** User numbers are u16 on the wire. */
const MAX_UID = 0xffff;
/**
 * How long the user table stays in memory after its last use. A reconciler's writes come a step
 * at a time, well within this; between passes (hours) nothing reads it, and every pass lists the
 * users afresh anyway. Kept forever it was 0.8 MB per terminal with 5,000 users: 17 MB for 20.
 */
export const USER_TABLE_KEEP_MS = 1_000;

/**
 * The terminal's users and fingerprint templates: listing, writing one by one or in one
 * SAVE_USERTEMPS upload, deleting. Every write defers one REFRESHDATA (`scheduleRefresh`).
 */
export class ZkUsers {
  /**
   * The terminal's users as last read or written, by PIN. Writes need each user's internal uid;
   * re-reading the whole table for every change would make a roster of n workers cost n² bytes.
   * Valid for the link it was read over (`linkEpoch`), refreshed by every listUsers().
   */
  private cache: { readonly epoch: number; readonly users: Map<string, ZkUser> } | null = null;
  private warnedNoTemplateUpload = false;
  private releaseTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly connection: ZkConnection,
    private readonly keepMs = USER_TABLE_KEEP_MS,
  ) {}

  /** Users held in memory now (0 once the table has been let go). */
  get heldUsers(): number {
    return this.cache?.users.size ?? 0;
  }

  private get terminalId(): string {
    return this.connection.config.id;
  }

  async listUsers(): Promise<readonly TerminalUser[]> {
    return (await this.readUsers()).map(({ uid, pin, name, card, password, privilege }) => ({
      uid,
      pin,
      name,
      card,
      password,
      privilege,
    }));
  }

  /** Users by PIN, read once per connection (or per listUsers) and kept current by our own writes. */
  private async knownUsers(): Promise<Map<string, ZkUser>> {
    if (this.cache?.epoch !== this.connection.linkEpoch) await this.readUsers();
    this.keepForAWhile();
    return this.cache?.epoch === this.connection.linkEpoch ? this.cache.users : new Map();
  }

  /** Lets the table go `keepMs` after its last use; the next write reads it again. */
  private keepForAWhile(): void {
    if (this.releaseTimer) this.releaseTimer.refresh();
    else {
      this.releaseTimer = setTimeout(() => {
        this.releaseTimer = undefined;
        this.cache = null;
      }, this.keepMs);
      this.releaseTimer.unref();
    }
  }

  private async readUsers(): Promise<ZkUser[]> {
    const connection = this.connection;
    const epoch = connection.linkEpoch;
    await connection.flushRefresh();
    const buffer = await connection.run('read users', (s) => s.readBuffer(READ_USERS, 'user table'));
    const { body, declared } = splitTable(buffer, 'user table');
    const sizes = await connection.readSizes();
    const size = recordSize(declared, sizes.users, connection.oldFirmware ? [28, 72] : [72, 28]);
    const { encoding } = connection.config;
    const users: ZkUser[] = [];
    for (let at = 0; at + size <= body.length; at += size)
      users.push(size === 72 ? decodeUser72(body, encoding, at) : decodeUser28(body, encoding, at));
    this.cache = { epoch, users: new Map(users.map((u) => [u.pin, u])) };
    this.keepForAWhile();
    return users;
  }

  async upsertUser(user: TerminalUser): Promise<void> {
    checkUser(user);
    const existing = await this.knownUsers();
    let uid = existing.get(user.pin)?.uid ?? 0;
    if (uid === 0) {
      for (const u of existing.values()) uid = Math.max(uid, u.uid);
      uid += 1;
    }
    if (uid > MAX_UID)
      throw new TerminalFullError(
        `terminal ${this.terminalId} is full: no user number left for ${user.pin}`,
        this.terminalId,
      );
    const record = toZkUser(user, uid);
    const { encoding } = this.connection.config;
    const bytes = this.connection.oldFirmware
      ? encodeUser28(record, encoding)
      : encodeUser72(record, encoding);
    try {
      await this.connection.expectOk(Cmd.USER_WRQ, bytes);
    } catch (err) {
      const capacity = this.connection.lastSizes?.userCapacity ?? 0;
      if (!existing.has(user.pin) && capacity > 0 && existing.size >= capacity)
        throw new TerminalFullError(
          `terminal ${this.terminalId} is full: it holds ${capacity} users`,
          this.terminalId,
          capacity,
        );
      throw err;
    }
    existing.set(record.pin, record);
    this.connection.scheduleRefresh();
  }

  async deleteUser(pin: string): Promise<void> {
    const users = await this.knownUsers();
    const user = users.get(pin);
    if (!user) return;
    const uid = Buffer.alloc(2);
    uid.writeUInt16LE(user.uid, 0);
    await this.connection.expectOk(Cmd.DELETE_USER, uid);
    users.delete(pin);
    this.connection.scheduleRefresh();
  }

  async readTemplates(pin: string): Promise<readonly BiometricTemplate[]> {
    const user = (await this.knownUsers()).get(pin);
    if (!user) return [];
    const connection = this.connection;
    await connection.flushRefresh();
    const buffer = await connection.run('read templates', (s) =>
      s.readBuffer(READ_TEMPLATES, 'template table'),
    );
    const { body } = splitTable(buffer, 'template table');
    return decodeTemplateRecords(body)
      .filter((t) => t.uid === user.uid)
      .map((t) => ({
        pin,
        kind: 'fp' as const,
        index: t.fingerIndex,
        format: connection.templateFormat,
        data: new Uint8Array(t.data),
      }));
  }

  async writeTemplate(template: BiometricTemplate): Promise<void> {
    this.checkTemplate(template);
    if (this.connection.oldFirmware)
      throw new Error('template upload over UDP (old firmware) is not supported');
    const user = (await this.knownUsers()).get(template.pin);
    if (!user)
      throw new Error(`no user ${template.pin} on terminal ${this.terminalId}: upsert the user first`);
    await this.saveUserTemplates([{ user, fingers: [{ index: template.index, data: template.data }] }]);
    this.connection.scheduleRefresh();
  }

  /**
   * Many users and their fingerprints in one SAVE_USERTEMPS upload (docs/protocols/zk.md#uploads):
   * FREE_DATA, PREPARE_DATA, one DATA per KB and the save, whatever the number of users. Existing
   * users keep their uid; new ones get the next free uids. Old firmware (UDP) has no such upload:
   * users go one by one with USER_WRQ and templates are skipped, as writeTemplate refuses them.
   */
  async writeUsers(entries: readonly UserWithTemplates[]): Promise<void> {
    for (const { user, templates } of entries) {
      checkUser(user);
      for (const template of templates) {
        this.checkTemplate(template);
        if (template.pin !== user.pin)
          throw new Error(`template for ${template.pin} listed under user ${user.pin}`);
      }
    }
    if (entries.length === 0) return;
    if (this.connection.oldFirmware) {
      await this.writeUsersOneByOne(entries);
      return;
    }
    const known = await this.knownUsers();
    const batch = this.numbered(entries, known);
    try {
      await this.saveUserTemplates(batch);
    } catch (err) {
      // The terminal may have stored part of the upload: read the table again before the next write.
      this.cache = null;
      const capacity = this.connection.lastSizes?.userCapacity ?? 0;
      const adding = batch.filter(({ user }) => !known.has(user.pin)).length;
      // Only a refusal is the terminal saying so: a dropped link says nothing about room.
      if (err instanceof ZkReplyError && adding > 0 && capacity > 0 && known.size + adding > capacity)
        throw new TerminalFullError(
          `terminal ${this.terminalId} is full: it holds ${capacity} users, ${adding} more refused`,
          this.terminalId,
          capacity,
        );
      throw err;
    }
    for (const { user } of batch) known.set(user.pin, user);
    this.connection.scheduleRefresh();
  }

  /** Each entry with its uid: the terminal's for a known PIN, the next free one otherwise. */
  private numbered(entries: readonly UserWithTemplates[], known: Map<string, ZkUser>): ZkUserTemplates[] {
    let nextUid = 0;
    for (const u of known.values()) nextUid = Math.max(nextUid, u.uid);
    // A PIN listed twice is written once, with its last entry (firmware would keep the last anyway).
    const byPin = new Map<string, ZkUserTemplates>();
    for (const { user, templates } of entries) {
      const uid = known.get(user.pin)?.uid ?? byPin.get(user.pin)?.user.uid ?? ++nextUid;
      if (uid > MAX_UID)
        throw new TerminalFullError(
          `terminal ${this.terminalId} is full: no user number left for ${user.pin}`,
          this.terminalId,
        );
      byPin.set(user.pin, {
        user: toZkUser(user, uid),
        fingers: templates.map((t) => ({ index: t.index, data: t.data })),
      });
    }
    return [...byPin.values()];
  }

  private async writeUsersOneByOne(entries: readonly UserWithTemplates[]): Promise<void> {
    const skipped = entries.reduce((n, e) => n + e.templates.length, 0);
    if (skipped > 0 && !this.warnedNoTemplateUpload) {
      this.warnedNoTemplateUpload = true;
      this.connection.log.warn(
        { skipped },
        'old firmware (UDP) has no template upload: users are written without their fingerprints',
      );
    }
    for (const { user } of entries) await this.upsertUser(user);
  }

  private async saveUserTemplates(batch: readonly ZkUserTemplates[]): Promise<void> {
    const buffer = encodeUserTemplates(batch, this.connection.config.encoding);
    await this.connection.run('save users and templates', async (s) => {
      const reply = await s.writeBuffer(buffer, Cmd.SAVE_USERTEMPS, SAVE_USERTEMPS_ARGS, 'user upload');
      if (!isAccepted(reply)) throw new ZkReplyError('CMD_SAVE_USERTEMPS', reply.command);
    });
  }

  private checkTemplate(template: BiometricTemplate): void {
    const format = this.connection.templateFormat;
    if (template.kind !== 'fp')
      throw new Error(`ZK terminals here take fingerprints only, not ${template.kind}`);
    if (template.format !== format)
      throw new Error(`template format ${template.format} does not match this terminal's ${format}`);
    if (template.index < 0 || template.index > 9)
      throw new Error(`finger index must be 0–9: ${template.index}`);
  }
}

function checkUser(user: TerminalUser): void {
  if (!user.pin || user.pin.length > MAX_PIN_LENGTH)
    throw new Error(`ZK PIN must be 1–${MAX_PIN_LENGTH} characters: ${JSON.stringify(user.pin)}`);
  const card = user.card ?? 0;
  if (!Number.isInteger(card) || card < 0 || card > 0xffffffff)
    throw new Error(`card must be an unsigned 32-bit number: ${card} (user ${user.pin})`);
}

function toZkUser(user: TerminalUser, uid: number): ZkUser {
  return {
    uid,
    pin: user.pin,
    name: user.name,
    card: user.card ?? 0,
    password: user.password ?? '',
    privilege: user.privilege ?? 0,
  };
}
