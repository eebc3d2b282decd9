import type { Socket } from 'node:net';

/** Fault injection on what a terminal sends; fields may be changed while the emulator runs. */
export interface ZkFaults {
  /** Cut the next connection after it has sent this many bytes (fires once, then clears itself). */
  dropAfterBytes?: number;
  /** Wait this long before every reply. */
  replyDelayMs?: number;
  /** Write every packet in pieces of this many bytes. */
  splitBytes?: number;
  /** Put this many junk bytes on the wire before every reply (TCP). */
  garbageBytes?: number;
  /**
   * The PIN a finished enrolment's EF_ENROLLFINGER carries instead of the enrolled worker's
   * ('' = none), as firmware that reports the wrong user would.
   */
  enrolEventPin?: string;
}

export interface OutputPolicy {
  readonly coalesce: boolean;
  /** Pause between packets when not coalescing, so each tends to arrive in its own read. */
  readonly packetGapMs: number;
  readonly faults: ZkFaults;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Writes one connection's packets in order, shaped by the coalescing mode and the faults.
 * A group is what one command produced; coalescing sends a group in one write.
 */
export class TcpOutput {
  private chain: Promise<void> = Promise.resolve();
  private bytesOut = 0;

  constructor(
    private readonly socket: Socket,
    private readonly policy: OutputPolicy,
  ) {}

  send(group: readonly Buffer[], isReply = true): void {
    if (group.length === 0) return;
    this.chain = this.chain.then(() => this.write(group, isReply)).catch(() => undefined);
  }

  /** Resolves once everything queued so far is handed to the socket. */
  flushed(): Promise<void> {
    return this.chain;
  }

  private async write(group: readonly Buffer[], isReply: boolean): Promise<void> {
    const { faults } = this.policy;
    if (this.socket.destroyed) return;
    if (isReply && faults.replyDelayMs) await sleep(faults.replyDelayMs);
    const pieces = this.policy.coalesce ? [Buffer.concat(group)] : group;
    for (const piece of pieces) {
      if (!this.policy.coalesce && this.bytesOut > 0 && this.policy.packetGapMs > 0)
        await sleep(this.policy.packetGapMs);
      const bytes =
        isReply && faults.garbageBytes ? Buffer.concat([junk(faults.garbageBytes), piece]) : piece;
      await this.emit(bytes);
    }
  }

  private async emit(bytes: Buffer): Promise<void> {
    const { faults } = this.policy;
    let out = bytes;
    let cut = false;
    if (faults.dropAfterBytes !== undefined && this.bytesOut + out.length >= faults.dropAfterBytes) {
      out = out.subarray(0, Math.max(0, faults.dropAfterBytes - this.bytesOut));
      faults.dropAfterBytes = undefined;
      cut = true;
    }
    const split = faults.splitBytes && faults.splitBytes > 0 ? faults.splitBytes : out.length;
    for (let at = 0; at < out.length; at += split) {
      if (this.socket.destroyed) return;
      // Wait until the kernel has the bytes, so a pause afterwards really separates packets.
      await new Promise<void>((resolve) => this.socket.write(out.subarray(at, at + split), () => resolve()));
      this.bytesOut += Math.min(split, out.length - at);
      if (split < out.length) await new Promise<void>((resolve) => setImmediate(resolve));
    }
    if (cut) this.socket.destroy();
  }
}

/** Junk without 0x50, so it never forms a false frame start. */
function junk(n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = 0x51 + ((i * 37) % 0xae);
  return b;
}
