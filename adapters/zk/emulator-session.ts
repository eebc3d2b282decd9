// The commands a terminal answers before (and after) a client has authenticated.
import { makeCommKey } from './commkey';
import { Cmd, EVENT_REPLY_ID } from './constants';
import type { CommandCall, CommandTable } from './emulator-call';

/**
 * A client acknowledging an event: nothing to answer. It acknowledges only with the client's
 * session and the events' reply number (docs/protocols/zk.md#session-and-reply-numbers); any other
 * ACK_OK acknowledges nothing and is counted apart, as `strayAcks`.
 */
function eventAck({ terminal, peer, packet }: CommandCall): void {
  if (packet.replyId === EVENT_REPLY_ID && packet.sessionId === peer.sessionId) terminal.stats.eventAcks++;
  else terminal.stats.strayAcks++;
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
