import type { PunchJournal } from '../store/journal';
import { scanPunchesSince } from '../store/journal-reader';

const DAY_MS = 86_400_000;

/** What makes two punches the same: terminal, PIN and UTC second. */
export interface PunchIdentity {
  readonly terminalId: string;
  readonly pin: string;
  readonly atMs: number;
}

/**
 * Recently journaled punches (terminal, PIN, UTC second), rebuilt from the journal at start, so a
 * punch read again after a restart, a reconnect or an ADMS resend is stored once. Bounded by a
 * window of punch time (`pipeline.dedupWindowDays`): older re-reads are prevented by the drivers'
 * cursors, and what falls out of the window is forgotten by the hourly prune.
 *
 * Each (terminal, PIN) pair gets a small number, and the (pair, second) entries live in an
 * open-addressing table of two typed arrays. A catch-up read claims 100,000 punches at a time: one
 * map of "terminal|pin|second" strings cost ten times more (a fresh key string hashed per punch),
 * and even maps of sets kept the collector busy with their growing tables. Here a claim allocates
 * nothing, and the collector never walks the entries.
 */
export class DedupIndex {
  /** terminal → PIN → pair number (from 1). */
  private readonly pairs = new Map<string, Map<string, number>>();
  private nextPair = 1;
  /** Per slot: the pair number, EMPTY, or REMOVED (a released entry a probe must walk past). */
  private slotPairs = new Int32Array(INITIAL_SLOTS);
  private slotSeconds = new Float64Array(INITIAL_SLOTS);
  private count = 0;
  private removed = 0;

  constructor(
    private readonly windowDays: number,
    private readonly now: () => number,
  ) {}

  /**
   * Reads only the segments whose index says they hold a punch inside the window. Picked by punch
   * time, not by file date: a catch-up of a terminal that was away for a month writes old punches
   * into a new file, and a copied or restored data folder (or a box whose clock was wrong when it
   * wrote them) has file dates that say nothing about the punches inside.
   */
  async load(journal: PunchJournal): Promise<void> {
    await scanPunchesSince(journal, this.now() - this.windowDays * DAY_MS, (punch) => this.claim(punch));
  }

  has(punch: PunchIdentity): boolean {
    const pair = this.pairs.get(punch.terminalId)?.get(punch.pin);
    return pair !== undefined && this.find(pair, secondOf(punch.atMs)) >= 0;
  }

  /** Claims a punch before the journal write, so two readers of the same punch cannot both store it. */
  claim(punch: PunchIdentity): boolean {
    const pair = this.pairOf(punch.terminalId, punch.pin);
    const second = secondOf(punch.atMs);
    const mask = this.slotPairs.length - 1;
    let slot = slotOf(pair, second, mask);
    let firstRemoved = -1;
    for (;;) {
      const held = this.slotPairs[slot] as number;
      if (held === EMPTY) break;
      if (held === REMOVED) {
        if (firstRemoved < 0) firstRemoved = slot;
      } else if (held === pair && this.slotSeconds[slot] === second) return false;
      slot = (slot + 1) & mask;
    }
    if (firstRemoved >= 0) {
      slot = firstRemoved;
      this.removed--;
    }
    this.slotPairs[slot] = pair;
    this.slotSeconds[slot] = second;
    this.count++;
    // At most half full (removed slots included), so probes stay short and always end.
    if ((this.count + this.removed) * 2 > this.slotPairs.length) this.rebuild(() => true);
    return true;
  }

  release(punch: PunchIdentity): void {
    const pair = this.pairs.get(punch.terminalId)?.get(punch.pin);
    if (pair === undefined) return;
    const slot = this.find(pair, secondOf(punch.atMs));
    if (slot < 0) return;
    this.slotPairs[slot] = REMOVED;
    this.count--;
    this.removed++;
  }

  prune(): void {
    const since = secondOf(this.now() - this.windowDays * DAY_MS);
    this.rebuild((second) => second >= since);
  }

  get size(): number {
    return this.count;
  }

  private pairOf(terminalId: string, pin: string): number {
    let pins = this.pairs.get(terminalId);
    if (!pins) {
      pins = new Map();
      this.pairs.set(terminalId, pins);
    }
    let pair = pins.get(pin);
    if (pair === undefined) {
      pair = this.nextPair++;
      pins.set(pin, pair);
    }
    return pair;
  }

  private find(pair: number, second: number): number {
    const mask = this.slotPairs.length - 1;
    for (let slot = slotOf(pair, second, mask); ; slot = (slot + 1) & mask) {
      const held = this.slotPairs[slot] as number;
      if (held === EMPTY) return -1;
      if (held === pair && this.slotSeconds[slot] === second) return slot;
    }
  }

  /** A fresh table holding the entries `keep` accepts, sized for twice as many as there are. */
  private rebuild(keep: (second: number) => boolean): void {
    const oldPairs = this.slotPairs;
    const oldSeconds = this.slotSeconds;
    let slots = INITIAL_SLOTS;
    while (slots < this.count * 4) slots *= 2;
    this.slotPairs = new Int32Array(slots);
    this.slotSeconds = new Float64Array(slots);
    this.count = 0;
    this.removed = 0;
    const mask = slots - 1;
    for (let i = 0; i < oldPairs.length; i++) {
      const pair = oldPairs[i] as number;
      const second = oldSeconds[i] as number;
      if (pair <= 0 || !keep(second)) continue;
      let slot = slotOf(pair, second, mask);
      while (this.slotPairs[slot] !== EMPTY) slot = (slot + 1) & mask;
      this.slotPairs[slot] = pair;
      this.slotSeconds[slot] = second;
      this.count++;
    }
  }
}

const EMPTY = 0;
const REMOVED = -1;
const INITIAL_SLOTS = 1024;

/** Mixes pair and second (a multiplicative hash), so neighbouring seconds of one PIN spread out. */
function slotOf(pair: number, second: number, mask: number): number {
  let h = Math.imul(second | 0, 0x9e3779b1) ^ Math.imul(pair, 0x85ebca6b);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12;
  return h & mask;
}

function secondOf(atMs: number): number {
  return Math.floor(atMs / 1000);
}

/** The journal's `key` field: the same identity as text. */
export function punchKey(terminalId: string, pin: string, atMs: number): string {
  return `${terminalId}|${pin}|${secondOf(atMs)}`;
}
