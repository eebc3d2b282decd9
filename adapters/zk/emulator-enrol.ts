// Fingerprint enrolment: CMD_STARTENROLL, then after a while an EF_ENROLLFINGER event with the result.
import { Cmd, EVENT_REPLY_ID, Ev } from './constants';
import type { CommandCall, CommandTable } from './emulator-call';
import { encodeEnrolEvent } from './events';

/**
 * TCP: `<24sbb>` user id, finger, 1; UDP: `<Ib>` numeric user id, finger
 * (docs/protocols/zk.md#enrolment). The finger is "placed" after `enrolDelayMs`; the event carries
 * the published layout, with the PIN the `enrolEventPin` fault names if set.
 */
function startEnrol(call: CommandCall): void {
  const { terminal, peer, packet } = call;
  const old = terminal.firmware.old;
  const pin = old
    ? String(packet.data.readUInt32LE(0))
    : packet.data.subarray(0, 24).toString('latin1').replace(/\0.*$/s, '');
  const finger = old ? packet.data.readInt8(4) : packet.data.readInt8(24);
  const user = terminal.state.userByPin(pin);
  if (!user || finger < 0 || finger > 9) {
    call.refuse();
    return;
  }
  call.ok();
  if (peer.enrolTimer) clearTimeout(peer.enrolTimer);
  peer.enrolTimer = setTimeout(() => {
    peer.enrolTimer = null;
    const template = syntheticTemplate(pin, finger);
    terminal.state.templates.set(`${user.uid}:${finger}`, template);
    const event = encodeEnrolEvent({
      result: 0,
      size: template.length,
      fingerIndex: finger,
      pin: terminal.faults.enrolEventPin ?? pin,
    });
    peer.send([terminal.packet(Cmd.REG_EVENT, Ev.ENROLLFINGER, EVENT_REPLY_ID, event)], false);
    terminal.stats.eventsSent++;
  }, terminal.firmware.enrolDelayMs);
}

function cancelCapture(call: CommandCall): void {
  const { peer } = call;
  if (peer.enrolTimer) clearTimeout(peer.enrolTimer);
  peer.enrolTimer = null;
  call.ok();
}

/** Stand-in template bytes, stable per worker and finger so tests can compare them. */
function syntheticTemplate(pin: string, finger: number): Buffer {
  const b = Buffer.alloc(512);
  let seed = finger + 1;
  for (const ch of pin) seed = (seed * 31 + ch.charCodeAt(0)) >>> 0;
  for (let i = 0; i < b.length; i++) {
    seed = (seed * 1_103_515_245 + 12_345) >>> 0;
    b[i] = seed >>> 24;
  }
  b.write('SS21', 0, 'latin1');
  return b;
}

export const ENROL_COMMANDS: CommandTable = {
  [Cmd.STARTENROLL]: startEnrol,
  [Cmd.CANCELCAPTURE]: cancelCapture,
};
