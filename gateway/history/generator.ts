import { idNumberCheckCharacter } from '../../lib/id-number';
import { wallTimeToUtcMs } from '../../lib/wall-clock';
import type { Direction, Gender, RawPunch, WorkerChange } from '../model';
import { SeededRandom } from './random';

/**
 * A site's attendance history, made up but shaped like a real one: who works here, which gates
 * they use, and every punch the terminals would have logged day by day, as raw terminal records
 * (PIN, wall time, verify code, punch state). It knows nothing of the journal or the roster: the
 * seeder (seed.ts) turns these records into journal lines through the pipeline's own
 * normalization, and the test feeds the very same records to a live gateway through a ZK emulator.
 * Deterministic: the same options give the same history.
 */
export interface HistoryOptions {
  readonly workers: number;
  readonly days: number;
  /** Mean punches per calendar day over the history (busier on weekdays, none while the site is closed). */
  readonly perDay: number;
  readonly seed: number;
  /** The history's last day, `yyyy-MM-dd` in the site's zone. */
  readonly endDay: string;
  readonly timezone: string;
  /** How many terminals: one entry and one exit terminal per gate, so an even number. */
  readonly terminals: number;
}

export interface HistoryTerminal {
  readonly id: string;
  readonly name: string;
  readonly direction: Direction;
  readonly gate: number;
}

export interface HistoryWorker {
  /** The registration as the platform (or the page) sent it; applied in this list's order, it gives PINs 1, 2, 3… */
  readonly change: WorkerChange & { readonly identity: { readonly gatewayId: string } };
  /** Day index of the first shift, and of the last one for a worker who left (removed at the end). */
  readonly joinDay: number;
  readonly leaveDay?: number;
  readonly gate: number;
  /** The ZK verify code the worker's usual method gives (15 face, 1 fingerprint, 2 card, 0 password). */
  readonly verify: number;
  readonly night: boolean;
  /** Punches out and back in at lunch. */
  readonly lunch: boolean;
}

export interface HistoryPlan {
  readonly options: HistoryOptions;
  /** In registration order. */
  readonly workers: readonly HistoryWorker[];
  readonly terminals: readonly HistoryTerminal[];
  /** `yyyy-MM-dd` of each day, oldest first. */
  readonly days: readonly string[];
  /** Removals of the workers who left, applied after their last punch. */
  readonly removals: readonly WorkerChange[];
}

/** One terminal record, in the order a live gateway would have received it. */
export interface HistoryPunch {
  readonly raw: RawPunch & { readonly time: { readonly wall: string } };
  /** What the wall time means in the site's zone, for ordering. */
  readonly utcMs: number;
  /** When the real-time event reached the gateway (never earlier than the one before). */
  readonly receivedMs: number;
}

export interface HistoryDay {
  readonly day: string;
  readonly index: number;
  readonly punches: readonly HistoryPunch[];
}

// ─────────────────────────── the shape of a site (shares and rates) ───────────────────────────

const NIGHT_SHARE = 0.12;
const LUNCH_SHARE = 0.25;
const LEAVER_SHARE = 0.03;
const JOINER_SHARE = 0.1;
const LOCAL_SHARE = 0.08;
const OWN_GATE = 0.9;
const MISSING_IN = 0.004;
const MISSING_OUT = 0.012;
const DOUBLE_IN = 0.01;
/** Days with punches from PINs the roster does not know (a visitor, someone enrolled only on the terminal)… */
const UNKNOWN_PIN_DAYS = 0.35;
/** …and on such a day, at most this share of the day's punches (at least one). */
const UNKNOWN_PIN_RATE = 0.004;
/** Per punch: a verify code outside ZK's table (a firmware with its own codes). */
const UNKNOWN_VERIFY_RATE = 0.0002;
const UNKNOWN_VERIFY_CODE = 99;
/** Punches a present worker makes on average (in, out, lunch, doubles, less what they forget). */
export const PUNCHES_PER_SHIFT =
  2 + 2 * LUNCH_SHARE * (1 - NIGHT_SHARE) + DOUBLE_IN - MISSING_IN - MISSING_OUT;

/** Chinese New Year's day: the site closes a week before and reopens ten days after. */
const SPRING_FESTIVAL: Readonly<Record<number, string>> = {
  2018: '02-16',
  2019: '02-05',
  2020: '01-25',
  2021: '02-12',
  2022: '02-01',
  2023: '01-22',
  2024: '02-10',
  2025: '01-29',
  2026: '02-17',
  2027: '02-06',
  2028: '01-26',
  2029: '02-13',
  2030: '02-03',
  2031: '01-23',
  2032: '02-11',
  2033: '01-31',
  2034: '02-19',
  2035: '02-08',
};
const CLOSED_BEFORE_DAYS = 7;
const CLOSED_AFTER_DAYS = 10;

const SURNAMES = [
  ...'王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤',
];
const GIVEN = [
  ...'伟刚勇毅俊峰强军平保东文辉力明永健世广志义兴良海山仁波宁贵福生龙元全国胜学祥才发武新利清飞彬富顺信子杰涛昌成康星光天达安岩中茂进林有坚和彪博诚先敬震振壮会思群豪心邦承乐绍功松善厚庆磊民友裕河哲江超浩亮政谦亨奇固之轮翰朗伯宏言若鸣朋斌梁栋维启克伦翔旭鹏泽晨辰士以建家致树炎德行时泰盛秀娟英华慧巧美娜静淑惠珠翠雅芝玉萍红娥玲芬芳燕彩春菊兰凤洁梅琳素云莲真环雪荣爱妹霞香月莺媛艳瑞凡佳嘉琼勤珍贞莉桂娣叶璧璐娅琦晶妍茜秋珊莎锦黛青倩婷姣婉娴瑾颖露瑶怡婵雁蓓纨仪荷丹蓉眉君琴蕊薇菁梦岚苑婕馨瑗琰韵融园艺咏卿聪澜纯毓悦昭冰爽琬茗羽希宁欣飘育滢馥筠柔竹霭凝晓欢霄枫芸菲寒伊亚宜可姬舒影荔枝思丽',
];
/** Where workers come from: county codes of Sichuan, Chongqing and the provinces that send crews. */
const REGIONS = [
  '510104',
  '510107',
  '510122',
  '510124',
  '510681',
  '511302',
  '511321',
  '511602',
  '511702',
  '511102',
  '513401',
  '510921',
  '500101',
  '500230',
  '500243',
  '410102',
  '430102',
  '420102',
  '520102',
  '530102',
  '610102',
  '340102',
  '360102',
];
/** 班组: on a site a team is a trade's crew under one foreman. */
const TEAMS = [
  '钢筋一班',
  '钢筋二班',
  '木工一班',
  '木工二班',
  '混凝土班',
  '架子班',
  '水电班',
  '砌筑班',
  '杂工班',
];
/** 劳务分包单位: the labour subcontractors the workers are paid through. */
const EMPLOYERS = [
  '四川华西劳务有限公司',
  '成都建工劳务有限公司',
  '绵阳宏达建筑劳务有限公司',
  '南充顺成劳务有限公司',
];
const WORKER_TYPES = [
  '普工',
  '普工',
  '普工',
  '钢筋工',
  '钢筋工',
  '木工',
  '木工',
  '混凝土工',
  '架子工',
  '电工',
  '焊工',
  '砌筑工',
  '抹灰工',
  '油漆工',
  '机械操作工',
  '管理人员',
];
/** Face, fingerprint, card, password: the ZK verify codes (gateway/pipeline/verify-codes.ts). */
const METHODS: ReadonlyArray<readonly [code: number, share: number]> = [
  [15, 0.55],
  [1, 0.35],
  [2, 0.08],
  [0, 0.02],
];
/** PINs only the terminals know, far above any roster PIN (a worker gets the roster's next number). */
const UNKNOWN_PINS = Array.from({ length: 25 }, (_, i) => String(900_000_001 + i * 37));

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

/** The workers, terminals and calendar of a history; the punches come day by day from `historyDays`. */
export function planHistory(options: HistoryOptions): HistoryPlan {
  const random = new SeededRandom(options.seed);
  const days = calendar(options.endDay, options.days);
  const gates = Math.max(1, Math.floor(options.terminals / 2));
  const terminals: HistoryTerminal[] = [];
  for (let gate = 0; gate < gates; gate++) {
    const number = String(gate + 1).padStart(2, '0');
    terminals.push({ id: `gate-${number}-in`, name: `${gate + 1}号门 进场`, direction: 'in', gate });
    terminals.push({ id: `gate-${number}-out`, name: `${gate + 1}号门 出场`, direction: 'out', gate });
  }
  const endYear = Number(options.endDay.slice(0, 4));
  // Two workers with one ID number would be one person to the roster (it matches on it).
  const idNumbers = new Set<string>();
  const drafts = Array.from({ length: options.workers }, (_, i) =>
    makeWorker(random, i, endYear, options.days, gates, idNumbers),
  );
  // Registration order is join order: the roster hands out PINs in the order it meets workers.
  const workers = drafts.map((w, i) => ({ w, i })).sort((a, b) => a.w.joinDay - b.w.joinDay || a.i - b.i);
  const ordered = workers.map(({ w }) => w);
  const removals: WorkerChange[] = ordered
    .filter((w) => w.leaveDay !== undefined)
    .map((w) => ({
      source: w.change.source,
      op: 'remove' as const,
      identity: w.change.identity,
      ...(w.change.source === 'sichuan'
        ? { removalReason: '离职' as const }
        : { removalReason: 'local' as const }),
    }));
  return { options, workers: ordered, terminals, days, removals };
}

function makeWorker(
  random: SeededRandom,
  index: number,
  endYear: number,
  days: number,
  gates: number,
  idNumbers: Set<string>,
): HistoryWorker {
  const gender: Gender = random.chance(0.88) ? 'male' : 'female';
  const name = random.pick(SURNAMES) + random.pick(GIVEN) + (random.chance(0.7) ? random.pick(GIVEN) : '');
  let idCardNo = idNumber(random, endYear, gender);
  while (idNumbers.has(idCardNo)) idCardNo = idNumber(random, endYear, gender);
  idNumbers.add(idCardNo);
  const local = random.chance(LOCAL_SHARE);
  const identity = {
    gatewayId: random.uuid(),
    idCardNo,
    ...(local ? {} : { sichuanUserId: String(30_000_000 + index * 13 + random.below(13)) }),
  };
  const joins = days > 1 && random.chance(JOINER_SHARE);
  const joinDay = joins ? random.below(days) : 0;
  const leaves = days > 1 && random.chance(LEAVER_SHARE);
  const leaveDay = leaves ? joinDay + random.below(Math.max(1, days - joinDay - 1)) : undefined;
  let roll = random.next();
  let verify = 1;
  for (const [code, share] of METHODS) {
    if (roll < share) {
      verify = code;
      break;
    }
    roll -= share;
  }
  const workerType = random.pick(WORKER_TYPES);
  const gate = random.below(gates);
  const night = random.chance(NIGHT_SHARE);
  const lunch = random.chance(LUNCH_SHARE);
  const team = random.pick(TEAMS);
  const employer = random.pick(EMPLOYERS);
  return {
    change: {
      source: local ? 'local' : 'sichuan',
      op: 'upsert',
      identity,
      name,
      gender,
      workerType,
      team,
      employer,
    },
    joinDay,
    ...(leaveDay === undefined ? {} : { leaveDay }),
    gate,
    verify,
    night,
    lunch,
  };
}

/** An 18-character GB 11643 number: region, birth date (18 to 58 years old), sequence of the right parity, check character. */
function idNumber(random: SeededRandom, endYear: number, gender: Gender): string {
  const year = endYear - random.between(18, 58);
  const month = random.between(1, 12);
  const day = random.between(1, 28);
  const sequence = random.below(500) * 2 + (gender === 'male' ? 1 : 0);
  const first17 =
    random.pick(REGIONS) +
    String(year) +
    String(month).padStart(2, '0') +
    String(day).padStart(2, '0') +
    String(sequence).padStart(3, '0');
  return first17 + idNumberCheckCharacter(first17);
}

/** The history's days, oldest first, ending on `endDay`. */
export function calendar(endDay: string, days: number): string[] {
  const end = Date.parse(`${endDay}T00:00:00Z`);
  return Array.from({ length: days }, (_, i) =>
    new Date(end - (days - 1 - i) * DAY_MS).toISOString().slice(0, 10),
  );
}

/** How busy a day is: 0 while the site is closed for the Spring Festival, less on weekends. */
export function dayWeight(day: string): number {
  const date = Date.parse(`${day}T00:00:00Z`);
  // The festival falls between 21 January and 20 February, so the closure never leaves its own year.
  const festival = SPRING_FESTIVAL[Number(day.slice(0, 4))];
  if (festival) {
    const offset = (date - Date.parse(`${day.slice(0, 4)}-${festival}T00:00:00Z`)) / DAY_MS;
    if (offset >= -CLOSED_BEFORE_DAYS && offset <= CLOSED_AFTER_DAYS) return 0;
  }
  const weekday = new Date(date).getUTCDay();
  return weekday === 0 ? 0.6 : weekday === 6 ? 0.9 : 1;
}

/**
 * Every punch of the history, a day at a time, in the order the gateway would have received them.
 * `pinOf` gives each worker's PIN as the roster assigned it. A night shift's exit the next morning
 * belongs to the next day's list; the last day's ends after the history and is left out.
 */
export function* historyDays(plan: HistoryPlan, pinOf: (workerId: string) => string): Generator<HistoryDay> {
  const { options, days, terminals } = plan;
  // Its own stream, so planning more or fewer workers' details never shifts the punches' draws.
  const random = new SeededRandom(options.seed ^ 0x5eed);
  const weights = days.map(dayWeight);
  const meanWeight = weights.reduce((a, b) => a + b, 0) / Math.max(1, weights.length) || 1;
  const pins = plan.workers.map((w) => pinOf(w.change.identity.gatewayId));
  const zone = new ZoneClock(options.timezone);
  const walls = new WallFormatter();
  let carry: Moment[] = [];
  let lastReceived = 0;
  for (let index = 0; index < days.length; index++) {
    const day = days[index]!;
    const dayStart = Date.parse(`${day}T00:00:00Z`);
    const list = carry;
    const weight = weights[index]!;
    if (weight > 0) {
      const target = Math.round((options.perDay * weight * (0.93 + 0.14 * random.next())) / meanWeight);
      shiftsOfDay(random, plan, pins, index, target, list);
      unknownPunches(random, terminals, dayStart, target, list);
    }
    const nextMidnightUtc = zone.utc(dayStart + DAY_MS);
    // Sorted by instant, then by place in the list: one number per punch, so the sort compares numbers.
    const keys = new Float64Array(list.length);
    for (let i = 0; i < list.length; i++) {
      const m = list[i]!;
      m.utcMs = zone.utc(m.wallMs);
      keys[i] = (m.utcMs / 1000) * ORDER_SPAN + i;
    }
    keys.sort();
    const today: HistoryPunch[] = [];
    carry = [];
    for (let k = 0; k < keys.length; k++) {
      const m = list[keys[k]! % ORDER_SPAN]!;
      if (m.utcMs >= nextMidnightUtc) {
        carry.push(m);
        continue;
      }
      const terminal = terminals[m.terminal]!;
      lastReceived = Math.max(m.utcMs + 150 + random.below(1050), lastReceived + 1);
      today.push({
        raw: {
          terminalId: terminal.id,
          pin: m.pin,
          time: { wall: walls.format(m.wallMs) },
          verifyCode: m.verify,
          state: m.state,
          source: 'realtime',
        },
        utcMs: m.utcMs,
        receivedMs: lastReceived,
      });
    }
    yield { day, index, punches: today };
  }
}

/** Room for the place in a day's list below the seconds in a sort key (a day holds far fewer punches). */
const ORDER_SPAN = 2 ** 21;

/** A punch being planned: its wall time (as if UTC), and the UTC instant once the day is sorted. */
interface Moment {
  readonly wallMs: number;
  readonly terminal: number;
  readonly pin: string;
  readonly verify: number;
  /** ZK punch states: 0 check-in, 1 check-out, 2 break-out, 3 break-in. */
  readonly state: number;
  utcMs: number;
}

function moment(wallMs: number, terminal: number, pin: string, verify: number, state: number): Moment {
  return { wallMs, terminal, pin, verify, state, utcMs: 0 };
}

/**
 * Wall time → UTC in the site's zone, through lib/wall-clock.ts once per wall-clock hour; an hour
 * in which the zone's offset changes goes through it punch by punch.
 */
class ZoneClock {
  private readonly hours = new Map<number, number | null>();

  constructor(private readonly zone: string) {}

  utc(wallMs: number): number {
    const hour = Math.floor(wallMs / HOUR_MS);
    let start = this.hours.get(hour);
    if (start === undefined) {
      const first = wallTimeToUtcMs(wallOf(hour * HOUR_MS), this.zone);
      const last = wallTimeToUtcMs(wallOf(hour * HOUR_MS + HOUR_MS - 1000), this.zone);
      start = last - first === HOUR_MS - 1000 ? first : null;
      if (this.hours.size > 10_000) this.hours.clear();
      this.hours.set(hour, start);
    }
    return start === null ? wallTimeToUtcMs(wallOf(wallMs), this.zone) : start + (wallMs - hour * HOUR_MS);
  }
}

const TWO_DIGITS = Array.from({ length: 60 }, (_, i) => String(i).padStart(2, '0'));

/** `YYYY-MM-DDTHH:mm:ss` of a wall time held as if UTC, with the date part made once per day. */
class WallFormatter {
  private day = Number.NaN;
  private prefix = '';

  format(wallMs: number): string {
    const day = Math.floor(wallMs / DAY_MS);
    if (day !== this.day) {
      this.day = day;
      this.prefix = wallOf(day * DAY_MS).slice(0, 11);
    }
    const seconds = Math.floor((wallMs - day * DAY_MS) / 1000);
    const hour = Math.floor(seconds / 3600);
    const minute = Math.floor((seconds % 3600) / 60);
    return `${this.prefix}${TWO_DIGITS[hour]}:${TWO_DIGITS[minute]}:${TWO_DIGITS[seconds % 60]}`;
  }
}

function shiftsOfDay(
  random: SeededRandom,
  plan: HistoryPlan,
  pins: readonly string[],
  index: number,
  target: number,
  out: Moment[],
): void {
  const active: number[] = [];
  plan.workers.forEach((w, i) => {
    if (w.joinDay <= index && (w.leaveDay === undefined || index <= w.leaveDay)) active.push(i);
  });
  const present = Math.min(active.length, Math.round(target / PUNCHES_PER_SHIFT));
  // The first `present` of a partial shuffle: who came today.
  for (let i = 0; i < present; i++) {
    const j = i + random.below(active.length - i);
    [active[i], active[j]] = [active[j]!, active[i]!];
  }
  const gates = plan.terminals.length / 2;
  const dayMs = Date.parse(`${plan.days[index]}T00:00:00Z`);
  for (let i = 0; i < present; i++) {
    const worker = plan.workers[active[i]!]!;
    const pin = pins[active[i]!]!;
    const gate = random.chance(OWN_GATE) ? worker.gate : random.below(gates);
    const entry = gate * 2;
    const exit = gate * 2 + 1;
    const verify = random.chance(UNKNOWN_VERIFY_RATE) ? UNKNOWN_VERIFY_CODE : worker.verify;
    const inAt = worker.night
      ? dayMs + (19 * 60 + random.bunched(90)) * 60_000
      : dayMs + (6 * 60 + 30 + random.bunched(120)) * 60_000;
    const outAt = worker.night
      ? dayMs + DAY_MS + (5 * 60 + 30 + random.bunched(90)) * 60_000
      : dayMs + (17 * 60 + random.bunched(150)) * 60_000;
    const seconds = () => random.below(60) * 1000;
    if (!random.chance(MISSING_IN)) {
      const at = inAt + seconds();
      out.push(moment(at, entry, pin, verify, 0));
      // The terminal did not beep, so they tried again.
      if (random.chance(DOUBLE_IN))
        out.push(moment(at + random.between(3, 40) * 1000, entry, pin, verify, 0));
    }
    if (worker.lunch && !worker.night) {
      out.push(moment(dayMs + (11 * 60 + 55 + random.below(20)) * 60_000 + seconds(), exit, pin, verify, 2));
      out.push(moment(dayMs + (12 * 60 + 40 + random.below(40)) * 60_000 + seconds(), entry, pin, verify, 3));
    }
    if (!random.chance(MISSING_OUT)) out.push(moment(outAt + seconds(), exit, pin, verify, 1));
  }
}

function unknownPunches(
  random: SeededRandom,
  terminals: readonly HistoryTerminal[],
  dayMs: number,
  target: number,
  out: Moment[],
): void {
  // Visitors and crews enrolled only on a terminal come on some days, more on a busy site.
  const count = random.chance(UNKNOWN_PIN_DAYS)
    ? 1 + random.below(1 + Math.round(target * UNKNOWN_PIN_RATE))
    : 0;
  for (let i = 0; i < count; i++) {
    const terminal = random.below(terminals.length);
    const at = dayMs + (7 * 3600 + random.below(12 * 3600)) * 1000;
    const state = terminals[terminal]!.direction === 'in' ? 0 : 1;
    out.push(moment(at, terminal, random.pick(UNKNOWN_PINS), 1, state));
  }
}

/** A wall time held as if it were UTC milliseconds, as `YYYY-MM-DDTHH:mm:ss`. */
function wallOf(wallMs: number): string {
  return new Date(wallMs).toISOString().slice(0, 19);
}
