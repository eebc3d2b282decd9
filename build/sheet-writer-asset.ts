/**
 * How the sheet writer's thread starts in the packaged forms; the bundler puts this file in place of
 * gateway/web/sheet-writer-source.ts (which starts it from the sources with tsx). The thread's code
 * is a bundle of its own (`bundleSheetWriter` in bundle.ts), not part of the gateway's: it runs in
 * its own thread, and V8 keeps a script's source for the life of the process, so an idle box holds
 * none of it.
 * - In the single executable it is the asset `sheet-writer.cjs`, evaluated as the thread's script.
 * - The bundle run by plain node (the fleet tests, debugging a build) has it in a file beside it.
 * Either way it takes exceljs where the gateway does (build/excel-asset.ts).
 */
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { SHEET_WRITER_ROLE } from '../gateway/web/sheet-writer-messages';
import { insideSea } from './embedded-addon';

export const SHEET_WRITER_ASSET = 'sheet-writer.cjs';

export function startSheetWriterThread(): Worker {
  const workerData = { role: SHEET_WRITER_ROLE };
  if (insideSea()) {
    // Required, not imported: `node:sea` exists only inside a single executable (embedded-addon.ts).
    const sea = require('node:sea') as typeof import('node:sea');
    return new Worker(sea.getAsset(SHEET_WRITER_ASSET, 'utf8') as string, { eval: true, workerData });
  }
  // In the bundle, `__dirname` is the bundle's own folder.
  return new Worker(join(__dirname, SHEET_WRITER_ASSET), { workerData });
}
