import type {
  Direction,
  DriverKind,
  PunchFlag,
  RemovalReason,
  RosterSource,
  TemplateKind,
  UpstreamName,
  VerifyMethod,
} from '../model';
import type { Lang } from './i18n';

/**
 * The domain's words as the page says them: each closed vocabulary of the model has a word in
 * both languages, so a value the page shows is never its code. A `Record` over each union makes
 * the compiler name any value added to the model without a word here.
 */
type Words<K extends string> = Readonly<Record<K, readonly [en: string, zh: string]>>;

const PLATFORMS: Words<UpstreamName> = {
  sichuan: ['Sichuan real-name platform', '四川实名制平台'],
  deli: ['Deli attendance', '得力考勤'],
};

const SOURCES: Words<RosterSource> = {
  sichuan: PLATFORMS.sichuan,
  deli: PLATFORMS.deli,
  local: ['this gateway', '本地'],
};

const METHODS: Words<VerifyMethod> = {
  fp: ['Fingerprint', '指纹'],
  fa: ['Face', '人脸'],
  card: ['Card', '刷卡'],
  pwd: ['Password', '密码'],
};

const TEMPLATE_KINDS: Words<TemplateKind> = { fp: METHODS.fp, fa: METHODS.fa };

const DIRECTIONS: Words<Direction> = { in: ['In', '进场'], out: ['Out', '出场'] };

/** A terminal's configured direction: a fixed one, or whatever each punch says (turnstiles). */
const TERMINAL_DIRECTIONS: Words<Direction | 'state'> = {
  ...DIRECTIONS,
  state: ['As the device reports', '按设备上报'],
};

const FLAGS: Words<PunchFlag> = {
  unmatched: ['not on the roster', '未登记工号'],
  removed_worker: ['removed worker', '已移除人员'],
  unknown_verify: ['unknown method', '未知验证方式'],
  clock_suspect: ['terminal clock suspect', '终端时钟可疑'],
};

/**
 * Sichuan's delete types keep their platform words in Chinese (离职, 禁入, 红黄码 are what the
 * platform and the site say); the others are ours.
 */
const REMOVAL_REASONS: Words<RemovalReason> = {
  离职: ['left the project (离职)', '离职'],
  禁入: ['barred from site (禁入)', '禁入'],
  红黄码: ['red or yellow health code (红黄码)', '红黄码'],
  sichuan: ['removed by the Sichuan platform', '四川实名制平台删除'],
  deli: ['removed by Deli attendance', '得力考勤删除'],
  local: ['removed on this page', '本地移除'],
  merged: ['merged into another record', '已合并到另一条记录'],
};

/** Protocol names stay as the devices' manuals print them; the words around them are translated. */
const DRIVERS: Words<DriverKind> = {
  zk: ['ZKTeco terminal (ZK protocol)', '中控考勤机（ZK 协议）'],
  modbus: ['Turnstile controller (Modbus)', '闸机控制器（Modbus）'],
  adms: ['ZKTeco push terminal (ADMS)', '中控推送终端（ADMS）'],
};

export type TransportChoice = '' | 'auto' | 'tcp' | 'udp' | 'rtu';
const TRANSPORTS: Words<TransportChoice> = {
  '': ['Default for the kind', '按终端类型默认'],
  auto: ['Automatic (TCP, then UDP)', '自动（先 TCP 后 UDP）'],
  tcp: ['Network (TCP)', '网络（TCP）'],
  udp: ['Network (UDP, old ZK firmware)', '网络（UDP，旧版 ZK 固件）'],
  rtu: ['Serial line (Modbus RTU)', '串口（Modbus RTU）'],
};

/** A worker's identities, as the roster keeps them (the gateway id is the worker's own id). */
export type IdentityKey = 'sichuanUserId' | 'deliUserId' | 'idCardNo';
const IDENTITIES: Words<IdentityKey | 'gatewayId'> = {
  sichuanUserId: ['Sichuan platform id', '四川平台人员编号'],
  deliUserId: ['Deli user id', '得力用户编号'],
  idCardNo: ['ID number', '身份证号'],
  gatewayId: ['Gateway id', '网关编号'],
};

/** The secrets the upstreams page may set, by `<upstream>.<key>`. */
const SECRETS: Words<string> = {
  'sichuan.deviceKey': ['device key', '设备密钥'],
  'sichuan.sm4Key': ['encryption key', '加密密钥'],
  'sichuan.sm4Iv': ['encryption initial vector', '加密初始向量'],
  'deli.password': ['connection password', '连接密码'],
};

function pick(lang: Lang, words: readonly [string, string]): string {
  return lang === 'en' ? words[0] : words[1];
}

/** A word for a value the model may not know yet (data from a file or a platform): the value itself. */
function lookup<K extends string>(lang: Lang, words: Words<K>, value: string): string {
  return Object.hasOwn(words, value) ? pick(lang, words[value as K]) : value;
}

export const platformName = (lang: Lang, name: string): string => lookup(lang, PLATFORMS, name);
export const sourceName = (lang: Lang, source: string): string => lookup(lang, SOURCES, source);
export const methodName = (lang: Lang, method: string): string => lookup(lang, METHODS, method);
export const templateKindName = (lang: Lang, kind: string): string => lookup(lang, TEMPLATE_KINDS, kind);
export const directionName = (lang: Lang, direction: string): string => lookup(lang, DIRECTIONS, direction);
export const terminalDirectionName = (lang: Lang, direction: string): string =>
  lookup(lang, TERMINAL_DIRECTIONS, direction);
export const flagName = (lang: Lang, flag: string): string => lookup(lang, FLAGS, flag);
export const removalReasonName = (lang: Lang, reason: string): string =>
  lookup(lang, REMOVAL_REASONS, reason);
export const driverName = (lang: Lang, driver: string): string => lookup(lang, DRIVERS, driver);
export const transportName = (lang: Lang, transport: string): string => lookup(lang, TRANSPORTS, transport);
export const identityName = (lang: Lang, key: string): string => lookup(lang, IDENTITIES, key);
export const secretName = (lang: Lang, upstream: string, key: string): string =>
  `${platformName(lang, upstream)} · ${lookup(lang, SECRETS, `${upstream}.${key}`)}`;

export const DRIVER_CHOICES: readonly DriverKind[] = ['zk', 'modbus', 'adms'];
export const TRANSPORT_CHOICES: readonly TransportChoice[] = ['', 'auto', 'tcp', 'udp', 'rtu'];
export const TERMINAL_DIRECTION_CHOICES: ReadonlyArray<Direction | 'state'> = ['in', 'out', 'state'];
export const IDENTITY_KEYS: readonly IdentityKey[] = ['sichuanUserId', 'deliUserId', 'idCardNo'];

/** How a list of words is joined in each language. */
export function joinWords(lang: Lang, words: readonly string[]): string {
  return words.join(lang === 'en' ? ', ' : '、');
}
