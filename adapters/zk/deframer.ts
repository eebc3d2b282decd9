import { TCP_MAGIC, TCP_PREFIX_SIZE } from './packet';

/** Large enough for an inline CMD_DATA holding a full 200,000-record log (8 MB) and then some. */
export const DEFAULT_MAX_FRAME = 32 * 1024 * 1024;

/**
 * Cuts a TCP byte stream into ZK packet bodies. A read may hold several frames or part of one;
 * bytes that do not start a plausible frame are skipped up to the next magic, so a burst of
 * garbage costs the frames it overlaps, never the connection.
 */
export class TcpDeframer {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Bytes the frame at the head needs before it is worth joining the chunks. */
  private awaiting = 0;
  /** Bytes dropped while resynchronising (for logs and tests). */
  skippedBytes = 0;

  constructor(private readonly maxFrame = DEFAULT_MAX_FRAME) {}

  push(chunk: Buffer): Buffer[] {
    if (chunk.length === 0) return [];
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const bodies: Buffer[] = [];
    while (this.buffered > 0 && this.buffered >= this.awaiting) {
      const flat = this.flatten();
      const start = flat.indexOf(TCP_MAGIC);
      if (start < 0) {
        // Keep a tail that might be the start of a magic split across reads.
        const keep = Math.min(3, flat.length);
        this.skippedBytes += flat.length - keep;
        this.reset(flat.subarray(flat.length - keep));
        this.awaiting = keep + 1;
        break;
      }
      if (start > 0) this.skippedBytes += start;
      const frame = flat.subarray(start);
      if (frame.length < TCP_PREFIX_SIZE) {
        this.reset(frame);
        this.awaiting = TCP_PREFIX_SIZE;
        break;
      }
      const length = frame.readUInt32LE(4);
      if (length < 8 || length > this.maxFrame) {
        // Not a real frame header: skip its first byte and look for the next magic.
        this.skippedBytes += 1;
        this.reset(frame.subarray(1));
        this.awaiting = 0;
        continue;
      }
      const total = TCP_PREFIX_SIZE + length;
      if (frame.length < total) {
        this.reset(frame);
        this.awaiting = total;
        break;
      }
      bodies.push(frame.subarray(TCP_PREFIX_SIZE, total));
      this.reset(frame.subarray(total));
      this.awaiting = 0;
    }
    return bodies;
  }

  private flatten(): Buffer {
    if (this.chunks.length === 1) return this.chunks[0] as Buffer;
    const flat = Buffer.concat(this.chunks, this.buffered);
    this.chunks = [flat];
    return flat;
  }

  private reset(rest: Buffer): void {
    this.chunks = rest.length > 0 ? [rest] : [];
    this.buffered = rest.length;
  }
}
