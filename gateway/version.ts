import packageJson from '../package.json' with { type: 'json' };

/** Replaced at build time by the bundler's define; from package.json when run from source. */
declare const EDGE_GATEWAY_VERSION: string | undefined;

export const VERSION: string =
  typeof EDGE_GATEWAY_VERSION === 'string' ? EDGE_GATEWAY_VERSION : packageJson.version;
