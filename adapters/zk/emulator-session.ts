// The commands a terminal answers before (and after) a client has authenticated.
import { makeCommKey } from './commkey';
import { Cmd, EVENT_ACK_REPLY } from './constants';
import type { CommandCall, CommandTable } from './emulator-call';

/** A client acknowledging an event (docs/protocols/zk.md#real-time-events): nothing to answer. */
function eventAck({ terminal, peer, packet }: CommandCall): void {
  if (packet.replyId === EVENT_ACK_REPLY || packet.sessionId === peer.sessionId) terminal.stats.eventAcks++;
}

/** With a comm key set, CONNECT is answered ACK_UNAUTH until AUTH (docs/protocols/zk.md#comm-key). */
function connect(call: CommandCall): void {
  const { terminal, peer } = call;
  peer.authed = !terminal.firmware.commKey;
  if (peer.authed) call.ok();
  else peer.send([call.reply(Cmd.ACK_UNAUTH)]);
}

function auth(call: CommandCall): void {
  const { terminal, peer, packet } = call;
  const ticks = packet.data.length >= 3 ? (packet.data[2] ?? 0) : 50;
  const expected = makeCommKey(terminal.firmware.commKey, peer.sessionId, ticks);
  peer.authed = packet.data.length >= 4 && expected.equals(packet.data.subarray(0, 4));
  if (peer.authed) call.ok();
  else peer.send([call.reply(Cmd.ACK_UNAUTH)]);
}

/** The client closes; closing first makes node-zklib's disconnect() throw. */
function exit(call: CommandCall): void {
  call.ok();
}

export const PRE_AUTH_COMMANDS: CommandTable = {
  [Cmd.ACK_OK]: eventAck,
  [Cmd.CONNECT]: connect,
  [Cmd.AUTH]: auth,
  [Cmd.EXIT]: exit,
};
