import { seqAdd } from './codec';

/**
 * Which register ranges hold a run of sequence numbers. Event `seq` lives in slot `seq mod N`, so a run
 * breaks where the slot index wraps to 0 (ring end) and where the u32 counter wraps (2^32 is not a
 * multiple of most N). Each returned run is contiguous in registers and is read in requests of whole
 * records (chunkRun).
 */
export interface RingRun {
  readonly firstSeq: number;
  readonly records: number;
  readonly address: number;
  readonly registers: number;
}

export function planRingRuns(
  firstSeq: number,
  count: number,
  capacity: number,
  ring: { readonly base: number; readonly recordRegisters: number },
): RingRun[] {
  const runs: RingRun[] = [];
  let seq = firstSeq;
  let left = count;
  while (left > 0) {
    const slot = seq % capacity;
    // Distance to the end of the ring, and to the u32 wrap where the slot sequence jumps.
    const toRingEnd = capacity - slot;
    const toWrap = 0x1_0000_0000 - seq;
    const records = Math.min(left, toRingEnd, toWrap);
    runs.push({
      firstSeq: seq,
      records,
      address: ring.base + slot * ring.recordRegisters,
      registers: records * ring.recordRegisters,
    });
    seq = seqAdd(seq, records);
    left -= records;
  }
  return runs;
}

/**
 * The requests a run needs: contiguous chunks of whole records, as many as fit `maxPerRead` registers.
 * A record never straddles two requests, because the device may overwrite its slot between them and
 * the two halves would then belong to different events.
 */
export function chunkRun(
  run: RingRun,
  maxPerRead: number,
  recordRegisters: number,
): { address: number; count: number }[] {
  const perRead = Math.floor(maxPerRead / recordRegisters) * recordRegisters;
  if (perRead < 1)
    throw new RangeError(`a ${recordRegisters}-register record does not fit a ${maxPerRead}-register read`);
  const chunks: { address: number; count: number }[] = [];
  for (let done = 0; done < run.registers; done += perRead) {
    chunks.push({ address: run.address + done, count: Math.min(perRead, run.registers - done) });
  }
  return chunks;
}
