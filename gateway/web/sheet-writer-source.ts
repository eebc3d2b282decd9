/**
 * How the sheet writer's thread starts when the gateway runs from its sources (`npm start`, the
 * tests): tsx's loader, registered inside the thread, loads the TypeScript. The packaged binary and
 * the bundle run by plain node start it from a bundle of its own instead: the bundler puts
 * build/sheet-writer-asset.ts in place of this file.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { SHEET_WRITER_ROLE } from './sheet-writer-messages';

export function startSheetWriterThread(): Worker {
  const file = JSON.stringify(new URL('./sheet-writer-thread.ts', import.meta.url).href);
  const tsx = JSON.stringify(tsxImportApi());
  return new Worker(`import(${tsx}).then((tsx) => tsx.tsImport(${file}, ${file}))`, {
    eval: true,
    workerData: { role: SHEET_WRITER_ROLE },
  });
}

/**
 * tsx's ESM API (`tsImport`) as a file URL: the thread's code is evaluated, with no file of ours
 * to resolve a package from, and tsx's CommonJS form of it loads the ESM one by a relative path
 * that fails from there.
 */
function tsxImportApi(): string {
  const manifest = createRequire(import.meta.url).resolve('tsx/package.json');
  const { exports } = JSON.parse(readFileSync(manifest, 'utf8')) as {
    exports: Record<string, { import?: { default?: string } }>;
  };
  const file = exports['./esm/api']?.import?.default;
  if (!file) throw new Error(`${manifest} names no ESM form of tsx/esm/api`);
  return pathToFileURL(join(dirname(manifest), file)).href;
}
