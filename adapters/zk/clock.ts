import type { PunchTime } from '../../gateway/model';
import { utcMsToWall, wallDiffSeconds } from '../../lib/wall-clock';
import { decodeZkTime, encodeZkTime } from '../../lib/zk-time';
import type { ZkConnection } from './connection';
import { Cmd } from './constants';

/**
 * The terminal's wall clock, read and set as a 4-byte ZK time (docs/protocols/zk.md#zk-time), in the
 * terminal's zone. When to correct it is the supervisor's decision, not this part's.
 */
export class ZkClock {
  /** Terminal wall − true wall in the terminal's zone, as of the last read or write. */
  offsetSeconds: number | undefined;

  constructor(private readonly connection: ZkConnection) {}

  async getTime(): Promise<PunchTime> {
    const reply = await this.connection.expectOk(Cmd.GET_TIME);
    if (reply.data.length < 4) throw new Error(`GET_TIME answered ${reply.data.length} bytes`);
    const wall = decodeZkTime(reply.data.readUInt32LE(0));
    this.offsetSeconds = this.offsetFrom(wall);
    return { wall };
  }

  async setTime(time: PunchTime): Promise<void> {
    const wall = 'wall' in time ? time.wall : utcMsToWall(time.utcMs, this.connection.zone);
    const data = Buffer.alloc(4);
    data.writeUInt32LE(encodeZkTime(wall), 0);
    await this.connection.expectOk(Cmd.SET_TIME, data);
    await this.connection.expectOk(Cmd.REFRESHDATA);
    this.offsetSeconds = this.offsetFrom(wall);
  }

  private offsetFrom(terminalWall: string): number {
    const { deps, zone } = this.connection;
    return wallDiffSeconds(terminalWall, utcMsToWall(deps.clock.now(), zone));
  }
}
