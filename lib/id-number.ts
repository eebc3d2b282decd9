/**
 * The Chinese resident identity number of GB 11643-1999: 6 digits of region, the birth date as
 * yyyyMMdd, 3 digits of sequence (odd for men, even for women) and a check character computed with
 * ISO 7064 MOD 11-2. The registration form checks it before anything goes to a platform, and the
 * Sichuan emulator's strict mode refuses what a real platform refuses; both use this one rule.
 */

/** Weight of each of the first 17 digits: 2^(17 - i) mod 11 (GB 11643-1999 §7). */
const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2] as const;
/** The check character for each remainder of the weighted sum mod 11. */
const CHECK = '10X98765432';
const SHAPE = /^\d{17}[\dX]$/;

/** The check character (0–9 or X) the first 17 digits call for. */
export function idNumberCheckCharacter(first17: string): string {
  if (!/^\d{17}$/.test(first17)) throw new Error('the check character needs exactly 17 digits');
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(first17[i]) * WEIGHTS[i]!;
  return CHECK[sum % 11]!;
}

/** The birth date the number carries, `yyyy-MM-dd` (undefined when the number's shape is wrong). */
export function idNumberBirthDate(idNumber: string): string | undefined {
  const id = idNumber.trim().toUpperCase();
  if (!SHAPE.test(id)) return undefined;
  return `${id.slice(6, 10)}-${id.slice(10, 12)}-${id.slice(12, 14)}`;
}

/**
 * Why an 18-character ID number is not valid, or undefined when it is. A lower-case x is taken
 * as X (people type it so); `today` bounds the birth date (a number cannot be born tomorrow).
 */
export function idNumberProblem(idNumber: string, today: Date = new Date()): string | undefined {
  const id = idNumber.trim().toUpperCase();
  if (!SHAPE.test(id)) return '18 characters: 17 digits, then a digit or X';
  const birth = idNumberBirthDate(id)!;
  const [year, month, day] = birth.split('-').map(Number) as [number, number, number];
  const date = new Date(Date.UTC(year, month - 1, day));
  const real =
    date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
  if (!real || year < 1800 || date.getTime() > today.getTime()) {
    return `characters 7–14 must be a real birth date (${id.slice(6, 14)} is not)`;
  }
  const expected = idNumberCheckCharacter(id.slice(0, 17));
  if (id[17] !== expected)
    return `the check character is ${id[17]}, the number calls for ${expected} (GB 11643)`;
  return undefined;
}
