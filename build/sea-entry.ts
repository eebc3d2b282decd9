/**
 * The packaged binary's entry point. gateway/main.ts starts the CLI itself: the bundler defines
 * `process.env.EDGE_GATEWAY_SEA` as "1" (bundle.ts), so it runs whatever name the binary has.
 * serialport's native addon comes from the SEA asset through build/serial-addon.ts, which the
 * bundler puts in place of node-gyp-build.
 */
import '../gateway/main';
