/**
 * The documents' lane (gateway/reports/export-lane.ts): one chunk at a time, the turn to the oldest
 * document waiting, and a document that is not waiting (its client is slow) passed over.
 */
import { describe, expect, it } from 'vitest';
import { ExportLane } from '../../gateway/reports/export-lane';

describe('ExportLane', () => {
  it('gives the turn to the oldest document waiting, not to the first to ask', async () => {
    const lane = new ExportLane();
    const [old, middle, young] = [lane.ticket(), lane.ticket(), lane.ticket()];
    const order: string[] = [];
    const giveOld = await lane.turn(old);
    const youngTurn = lane.turn(young).then((give) => {
      order.push('young');
      give();
    });
    const middleTurn = lane.turn(middle).then((give) => {
      order.push('middle');
      give();
    });
    expect(lane.queued).toBe(2);
    giveOld();
    await Promise.all([youngTurn, middleTurn]);
    expect(order).toEqual(['middle', 'young']);
    expect(lane.queued).toBe(0);
  });

  it('goes on to a younger document while the older one waits for its client', async () => {
    const lane = new ExportLane();
    const [old, young] = [lane.ticket(), lane.ticket()];
    const order: string[] = [];
    const giveOld = await lane.turn(old);
    const youngTurn = lane.turn(young).then((give) => {
      order.push('young');
      return give;
    });
    // The old document gives its turn on and is not back yet (its download is draining).
    giveOld();
    const giveYoung = await youngTurn;
    const oldAgain = lane.turn(old).then((give) => {
      order.push('old');
      give();
    });
    giveYoung();
    await oldAgain;
    expect(order).toEqual(['young', 'old']);
  });
});
