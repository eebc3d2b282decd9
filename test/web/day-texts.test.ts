import { describe, expect, it } from 'vitest';
import type { AttendanceDay } from '../../gateway/reports/day-count';
import { DayTexts } from '../../gateway/web/day-texts';

const day = (hours: number): AttendanceDay => ({
  date: '2026-04-01',
  hours,
  present: true,
  open: false,
  anomalies: [],
});

describe('a document’s day cells as text', () => {
  it('writes a day object once, a different object (a day counted live) again, and starts again when full', () => {
    const texts = new DayTexts();
    let written = 0;
    const write = (d: AttendanceDay) => {
      written++;
      return `<td>${d.hours}</td>`;
    };
    const shared = day(8);
    expect(texts.of(shared, write)).toBe('<td>8</td>');
    expect(texts.of(shared, write, '}')).toBe('<td>8</td>');
    expect(written).toBe(1);
    expect(texts.of(day(8), write)).toBe('<td>8</td>');
    expect(written).toBe(2);
    for (let i = 0; i < 20_000; i++) texts.of(day(i), write);
    written = 0;
    texts.of(shared, write);
    expect(written).toBe(1);
  });
});
