import { field } from './context';
import type { TerminalFormValues } from './pages/terminals';

/** A terminal as the config file holds it: not validated yet, and keys the form does not show kept. */
export type RawTerminal = Record<string, unknown>;

const FORM_FIELDS = [
  'id',
  'name',
  'driver',
  'direction',
  'transport',
  'host',
  'port',
  'path',
  'unitId',
  'sn',
  'pollSeconds',
] as const;
const NUMERIC_FIELDS = new Set(['port', 'unitId', 'pollSeconds']);

export function isRawTerminal(value: unknown): value is RawTerminal {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The posted form as text, to apply it or to show it again with the schema's problems. */
export function readTerminalForm(body: Record<string, unknown>): Record<string, string> {
  const values: Record<string, string> = { enabled: field(body, 'enabled') === 'true' ? 'true' : 'false' };
  for (const name of FORM_FIELDS) values[name] = field(body, name);
  return values;
}

/**
 * Turns the form into the terminal's JSON, on top of what the file already had (so keys the form
 * does not show, such as commKey or profile, survive). A number field that does not look like a
 * number is kept as text, so the schema says what is wrong with it.
 */
export function applyTerminalForm(base: RawTerminal, values: TerminalFormValues): RawTerminal {
  const next: RawTerminal = { ...base };
  for (const name of FORM_FIELDS) {
    const value = values[name] ?? '';
    if (value === '') delete next[name];
    else if (NUMERIC_FIELDS.has(name) && /^-?\d+(\.\d+)?$/.test(value)) next[name] = Number(value);
    else next[name] = value;
  }
  next.enabled = values.enabled === 'true';
  return next;
}

/** The form's values for a terminal from the file, to edit it. */
export function terminalFormValues(raw: RawTerminal): Record<string, string> {
  const values: Record<string, string> = {};
  for (const name of FORM_FIELDS) if (raw[name] !== undefined) values[name] = String(raw[name]);
  values.enabled = raw.enabled === false ? 'false' : 'true';
  return values;
}
