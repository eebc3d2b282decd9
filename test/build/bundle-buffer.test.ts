/**
 * The bundle's spreadsheet writer and Node's DEP0005 ("Buffer() is deprecated"): archiver-utils, under
 * exceljs's streaming writer, calls `new Buffer(…)`, which Node lets pass in node_modules but warns
 * about anywhere else, and in the single-file bundle everything is elsewhere. A small program that
 * writes an .xlsx with the same writer is bundled as build/bundle.ts bundles, with and without its
 * rewrite, and run by Node.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../build/build';
import { legacyBufferPlugin } from '../../build/bundle';
import { tempDir } from '../support/tmp';

const run = promisify(execFile);

const PROGRAM = `
const WorkbookWriter = require('exceljs/lib/stream/xlsx/workbook-writer.js');
const { PassThrough } = require('node:stream');
const out = new PassThrough();
const chunks = [];
out.on('data', (c) => chunks.push(c));
const workbook = new WorkbookWriter({ stream: out, useStyles: true, useSharedStrings: false });
const sheet = workbook.addWorksheet('考勤表');
sheet.addRow(['姓名', 1, 2]).commit();
sheet.commit();
workbook.commit().then(() => {
  const zip = Buffer.concat(chunks);
  process.stdout.write(zip.subarray(0, 4).toString('hex') + ' ' + zip.length);
});
`;

async function bundleAndRun(dir: string, plugins: Parameters<typeof build>[0]['plugins']) {
  const file = join(dir, `program-${plugins?.length ?? 0}.cjs`);
  await build({
    stdin: { contents: PROGRAM, resolveDir: ROOT, loader: 'js' },
    outfile: file,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    logLevel: 'silent',
    plugins,
  });
  return run(process.execPath, [file]);
}

describe('the bundled spreadsheet writer', () => {
  it('writes an .xlsx without the Buffer() deprecation warning, which it printed without the rewrite', async () => {
    const { dir, cleanup } = await tempDir('bundle-buffer-');
    try {
      const fixed = await bundleAndRun(dir, [legacyBufferPlugin()]);
      // A zip (PK\x03\x04) of some length, and nothing on stderr.
      expect(fixed.stdout).toMatch(/^504b0304 \d{4,}$/);
      expect(fixed.stderr).toBe('');
      const plain = await bundleAndRun(dir, []);
      expect(plain.stdout).toMatch(/^504b0304 \d{4,}$/);
      expect(plain.stderr).toContain('DEP0005');
    } finally {
      await cleanup();
    }
  }, 60_000);
});
