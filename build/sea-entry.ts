/**
 * The packaged binary's entry point. gateway/main.ts starts the CLI itself: the bundler defines
 * `process.env.EDGE_GATEWAY_SEA` as "1" (bundle.ts), so it runs whatever name the binary has.
 * serialport's native addon comes from the SEA asset through build/serial-addon.ts, which the
 * bundler puts in place of node-gyp-build; the query store's SQLite addon through
 * build/sqlite-addon.ts, which registers its loader before the gateway runs.
 */
import './sqlite-addon';
import '../gateway/main';
