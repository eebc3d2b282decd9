import type { AttendanceDay } from '../reports/day-count';

/** Days remembered before the memo starts again: a month's kinds of day are a few thousand. */
const LIMIT = 20_000;

/**
 * A document's day cells as text, each written once per day object. The cached days of a sheet are
 * shared objects, one per date and value (`SheetCoverage.counted`), so a month's 155,000 day cells
 * (its JSON, its print view) are a few thousand texts. Days counted live are objects of their own:
 * they are written each time, and the memo starts again past `LIMIT` rather than grow.
 */
export class DayTexts {
  private readonly texts = new Map<AttendanceDay, string>();

  of(day: AttendanceDay, write: (day: AttendanceDay) => string, suffix = ''): string {
    let text = this.texts.get(day);
    if (text === undefined) {
      text = write(day) + suffix;
      if (this.texts.size >= LIMIT) this.texts.clear();
      this.texts.set(day, text);
    }
    return text;
  }
}

/** The same memo for a value made once per day object by one function (a JSON day's bytes). */
export class DayMemo<T> {
  private readonly values = new Map<AttendanceDay, T>();

  constructor(private readonly make: (day: AttendanceDay) => T) {}

  of(day: AttendanceDay): T {
    let value = this.values.get(day);
    if (value === undefined) {
      value = this.make(day);
      if (this.values.size >= LIMIT) this.values.clear();
      this.values.set(day, value);
    }
    return value;
  }
}
