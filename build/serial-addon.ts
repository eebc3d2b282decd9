/**
 * Stands in for `@serialport/bindings-cpp/dist/serialport-bindings.js` inside the packaged binary
 * (the bundler swaps it in; see bundle.ts). A SEA cannot `require` a `.node` file, so the addon
 * travels as the SEA asset `serialport.node`; on first use it is written into the data directory
 * (never /tmp: other users can write there) and loaded with `process.dlopen`.
 *
 * Loading is lazy because modbus-serial requires serialport at start-up: a gateway with no RTU
 * terminal must neither touch the disk nor fail for want of the addon. serial-binding.ts calls the
 * probe registered below so that a missing addon is a SerialSupportError when an RTU terminal
 * starts, never a silent absence.
 */
import { join, resolve } from 'node:path';
import { addonDataDir } from './data-dir';
import { loadEmbeddedAddon } from './embedded-addon';

export const SERIAL_ADDON_ASSET = 'serialport.node';
export const SERIAL_PROBE = Symbol.for('edge-gateway.serialport.addon');

type NativeBinding = Record<string, (...args: unknown[]) => unknown>;

let loaded: NativeBinding | undefined;

function loadAddon(): NativeBinding {
  loaded ??= loadEmbeddedAddon<NativeBinding>(
    SERIAL_ADDON_ASSET,
    join(resolve(addonDataDir()), 'native'),
    'serialport',
  );
  return loaded;
}

/** The addon's functions, each loading the addon on first call. */
const FUNCTIONS = [
  'set',
  'get',
  'getBaudRate',
  'open',
  'update',
  'close',
  'flush',
  'drain',
  'list',
  'write',
  'read',
];

const lazy: Record<string, unknown> = {};
for (const name of FUNCTIONS) {
  lazy[name] = (...args: unknown[]) => loadAddon()[name]!(...args);
}
// poller.js does `new Poller(fd, callback)`: a constructor returning an object yields that object.
lazy.Poller = function Poller(...args: unknown[]) {
  const Real = loadAddon().Poller as unknown as new (...a: unknown[]) => object;
  return new Real(...args);
};

(globalThis as Record<symbol, unknown>)[SERIAL_PROBE] = () => {
  loadAddon();
};

export const binding = lazy;
