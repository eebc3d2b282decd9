import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../build/build';
import { asciiOnly, bundle, bundleExcel } from '../../build/bundle';
import { tempDir } from '../support/tmp';

describe('the bundle the binary runs', () => {
  it('is ASCII only, so V8 holds its source at one byte a character, and has no native import()', async () => {
    const { dir, cleanup } = await tempDir('bundle-ascii-');
    try {
      const { file } = await bundle({ root: ROOT, outDir: dir, version: '0.0.0-test' });
      const code = readFileSync(file, 'utf8');
      const outside = [...code.matchAll(/[\u0080-\uffff]/g)].map((m) =>
        code.slice(m.index - 30, m.index + 10),
      );
      expect(outside).toEqual([]);
      // The ID-period rule of the registration form (a regular expression esbuild left as written) survives.
      expect(code).toContain('(\\d{8}|\\u957f\\u671f)');
      // The x64 binary runs it from a V8 code cache, under which Node 20 cannot run a native import().
      expect(code.match(/(?<![\w$.])import\(/g) ?? []).toEqual([]);
      // exceljs is not in it (V8 would hold its 1.7 MB of source all along): it is an asset of its own.
      expect(code).not.toContain('xl/sharedStrings.xml');
      expect(code.length).toBeLessThan(3_000_000);
      const excel = readFileSync(await bundleExcel({ root: ROOT, outDir: dir }), 'utf8');
      expect(excel).toContain('xl/sharedStrings.xml');
      expect(excel).toMatch(/^[^\u0080-\uffff]*$/);
      expect(excel.match(/(?<![\w$.])import\(/g) ?? []).toEqual([]);
    } finally {
      await cleanup();
    }
  }, 120_000);

  it('escapes characters so that strings and regular expressions mean what they meant', () => {
    const source = String.raw`[/^\d{8}-(\d{8}|长期)$/u.test("20200101-长期"), /a–b/.test("a–b"), "工人", /[😀]/u.test("😀")]`;
    const escaped = asciiOnly(source);
    expect(escaped).toMatch(/^[^\u0080-\uffff]*$/);
    // biome-ignore lint/security/noGlobalEval: the point is to run the escaped code as the binary would.
    expect(eval(escaped)).toEqual([true, true, '工人', true]);
  });
});
