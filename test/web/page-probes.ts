/**
 * Code the browser tests run inside the page (`page.evaluate`), as source text: the test project
 * compiles without the DOM's types, and this code needs nothing but the browser. And what they do
 * with its answers (`controlBoxes`, `overlaps`), so each test file does not keep its own copy.
 */
import type { Page } from 'playwright-core';

/** The text a person reads (text nodes, placeholders, titles, labels, confirm texts, the title), data (`translate="no"`) left out. */
export const READABLE_TEXT = `(() => {
  const out = [document.title];
  const isData = (el) => Boolean(el && el.closest('[translate="no"], script, style'));
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const text = (node.textContent || '').trim();
    if (text && !isData(node.parentElement)) out.push(text);
  }
  for (const el of document.querySelectorAll('[placeholder], [title], [aria-label], [data-confirm]')) {
    if (isData(el)) continue;
    for (const name of ['placeholder', 'title', 'aria-label', 'data-confirm']) {
      const value = el.getAttribute(name);
      if (value) out.push(value);
    }
  }
  for (const el of document.querySelectorAll('input[type=submit], input[type=button]')) out.push(el.value);
  return out;
})()`;

/** Labels, headings and buttons holding (or inside) something marked as data. */
export const DATA_IN_CHROME = `[...document.querySelectorAll('th, legend, dt, label, button, option, h1, h3, nav a')]
  .filter((el) => el.querySelector('[translate="no"]') || el.closest('[translate="no"]'))
  .map((el) => el.outerHTML.slice(0, 120))`;

/** Every visible form control's box, in page coordinates. */
export const CONTROL_BOXES = `[...document.querySelectorAll('input:not([type=hidden]), select, textarea, button, a.button')]
  .map((el) => {
    const r = el.getBoundingClientRect();
    const name = el.getAttribute('name') || (el.textContent || '').trim().slice(0, 20);
    return {
      what: el.tagName.toLowerCase() + '[' + name + ']',
      x: r.x + window.scrollX,
      y: r.y + window.scrollY,
      w: r.width,
      h: r.height,
      visible: r.width > 0 && r.height > 0 && getComputedStyle(el).visibility !== 'hidden',
    };
  })
  .filter((b) => b.visible)
  .map((b) => ({ what: b.what, x: b.x, y: b.y, w: b.w, h: b.h }))`;

/** Each punch card of the phone's list: its size and how its time is shown. */
export const PUNCH_CARDS = `[...document.querySelectorAll('#punch-table tbody tr')].map((tr) => {
  const when = tr.querySelector('.when .short');
  const box = tr.getBoundingClientRect();
  return {
    height: box.height,
    width: box.width,
    time: when.textContent || '',
    timeLines: when.getClientRects().length,
    timeHeight: when.getBoundingClientRect().height,
    lineHeight: Number.parseFloat(getComputedStyle(when).lineHeight),
    fullShown: getComputedStyle(tr.querySelector('.when .full')).display !== 'none',
  };
})`;

/**
 * The hourly chart's bars, read off its canvas: runs of adjacent pixel columns holding a bar (one
 * run per hour with punches), each with the columns showing the entries' colour and the exits'.
 */
export const CHART_BAR_RUNS = `(() => {
  const canvas = document.querySelector('#hourly-chart canvas');
  const { width, height } = canvas;
  const pixels = canvas.getContext('2d').getImageData(0, 0, width, height).data;
  const near = (i, rgb) =>
    Math.abs(pixels[i] - rgb[0]) + Math.abs(pixels[i + 1] - rgb[1]) + Math.abs(pixels[i + 2] - rgb[2]) < 40 &&
    pixels[i + 3] > 200;
  const ENTRY = [0x1a, 0x7f, 0x37];
  const EXIT = [0xc2, 0x57, 0x0c];
  const runs = [];
  let run;
  for (let x = 0; x < width; x++) {
    let entry = 0;
    let exit = 0;
    for (let y = 0; y < height; y++) {
      const i = (y * width + x) * 4;
      if (near(i, ENTRY)) entry++;
      else if (near(i, EXIT)) exit++;
    }
    if (entry < 3 && exit < 3) {
      run = undefined;
      continue;
    }
    if (!run) {
      run = { entry: [], exit: [] };
      runs.push(run);
    }
    if (entry >= 3) run.entry.push(x);
    if (exit >= 3) run.exit.push(x);
  }
  return runs;
})()`;

/** A visible form control's box, as `CONTROL_BOXES` gives it. */
export interface ControlBox {
  readonly what: string;
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
}

/** Every visible form control's box on the page. */
export function controlBoxes(target: Page): Promise<ControlBox[]> {
  return target.evaluate(CONTROL_BOXES) as Promise<ControlBox[]>;
}

/** Each pair of boxes that overlap by more than half a pixel each way, named, with the overlap's size. */
export function overlaps(boxes: readonly ControlBox[]): string[] {
  const found: string[] = [];
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      const a = boxes[i]!;
      const b = boxes[j]!;
      const w = Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x);
      const h = Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y);
      if (w > 0.5 && h > 0.5) found.push(`${a.what} × ${b.what} (${w.toFixed(0)}×${h.toFixed(0)} px)`);
    }
  }
  return found;
}
