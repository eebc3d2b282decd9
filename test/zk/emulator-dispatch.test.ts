import { afterEach, describe, expect, it } from 'vitest';
import { makeCommKey } from '../../adapters/zk/commkey';
import { Cmd } from '../../adapters/zk/constants';
import { openTcpLink } from '../../adapters/zk/link';
import { decodeFreeSizes } from '../../adapters/zk/requests';
import { ZkSession } from '../../adapters/zk/session';
import { Lab, waitFor } from './support';

const lab = new Lab();
afterEach(() => lab.cleanup());

describe('ZK emulator command table', () => {
  it('gates commands on the comm key (event acks always pass), answers ACK_UNKNOWN for codes it lacks and ACK_ERROR with the reason when a handler throws', async () => {
    const emulator = await lab.emulator({ commKey: 4321, users: 2 });
    const link = await openTcpLink('127.0.0.1', emulator.port, 2000, {
      onBody: (body) => session.receive(body),
      onClose: () => undefined,
    });
    const session: ZkSession = new ZkSession(link, { timeoutMs: 2000, onEvent: () => undefined });
    try {
      // Before AUTH: CONNECT, EXIT and event acks are answered as usual, everything else ACK_UNAUTH,
      // including a code the terminal does not know at all.
      expect((await session.open()).command).toBe(Cmd.ACK_UNAUTH);
      expect((await session.request(Cmd.GET_FREE_SIZES)).command).toBe(Cmd.ACK_UNAUTH);
      expect((await session.request(Cmd.RESTART)).command).toBe(Cmd.ACK_UNAUTH);
      expect((await session.request(Cmd.EXIT)).command).toBe(Cmd.ACK_OK);
      // Event acknowledgements written out by hand for session 0x3a07 (this emulator's first).
      // pyzk's: ACK_OK d007, checksum 28be (0x07d0 + 0x3a07 = 0x41d7, complemented), session 073a,
      // reply 0000, the events' number. Then the same with reply 65,534 (checksum 29be), which
      // acknowledges nothing: it is counted apart.
      expect(session.sessionId).toBe(0x3a07);
      link.send(Buffer.from('d00728be073a0000', 'hex'));
      link.send(Buffer.from('d00729be073afeff', 'hex'));
      await waitFor(() => emulator.stats.eventAcks + emulator.stats.strayAcks === 2);
      expect(emulator.stats).toMatchObject({ eventAcks: 1, strayAcks: 1, badChecksums: 0 });
      expect((await session.request(Cmd.AUTH, makeCommKey(1234, session.sessionId))).command).toBe(
        Cmd.ACK_UNAUTH,
      );
      expect((await session.request(Cmd.AUTH, makeCommKey(4321, session.sessionId))).command).toBe(
        Cmd.ACK_OK,
      );

      const sizes = await session.request(Cmd.GET_FREE_SIZES);
      expect(sizes.command).toBe(Cmd.ACK_OK);
      expect(decodeFreeSizes(sizes.data).users).toBe(2);
      expect((await session.request(Cmd.RESTART)).command).toBe(Cmd.ACK_UNKNOWN);
      const refused = await session.request(Cmd.USER_WRQ, Buffer.alloc(10));
      expect(refused.command).toBe(Cmd.ACK_ERROR);
      expect(refused.data.toString()).toMatch(/user record of 10 bytes, 72 expected/);
      // The same connection keeps serving after the refusal.
      expect((await session.request(Cmd.GET_TIME)).data).toHaveLength(4);
      expect(emulator.users()).toHaveLength(2);
    } finally {
      await link.close();
    }
  });
});
