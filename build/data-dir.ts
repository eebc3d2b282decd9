/**
 * Where the packaged binary extracts its native addon: the gateway's data directory. The addon is
 * needed long after the command line was parsed, deep inside serialport, so the directory is worked
 * out here from the same inputs the gateway uses, in this order:
 * `EDGE_GATEWAY_DATA_DIR`; the `dataDir` of the file given by `--config` (or `EDGE_GATEWAY_CONFIG`);
 * lab's `--data-dir`; systemd's `STATE_DIRECTORY`; `./data` (the schema's default).
 * Relative paths resolve against the working directory, as the gateway resolves them.
 */
import { readFileSync } from 'node:fs';

export function addonDataDir(
  argv: readonly string[] = process.argv.slice(2),
  env: NodeJS.ProcessEnv = process.env,
): string {
  if (env.EDGE_GATEWAY_DATA_DIR) return env.EDGE_GATEWAY_DATA_DIR;
  const configFile = optionValue(argv, '--config', '-c') ?? env.EDGE_GATEWAY_CONFIG;
  if (configFile) {
    const fromConfig = dataDirOf(configFile);
    if (fromConfig) return fromConfig;
  }
  return optionValue(argv, '--data-dir') ?? env.STATE_DIRECTORY?.split(':')[0] ?? './data';
}

function optionValue(argv: readonly string[], ...names: string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    for (const name of names) {
      if (arg === name) return argv[i + 1];
      if (arg.startsWith(`${name}=`)) return arg.slice(name.length + 1);
    }
  }
  return undefined;
}

function dataDirOf(configFile: string): string | undefined {
  try {
    const document = JSON.parse(readFileSync(configFile, 'utf8')) as { dataDir?: unknown };
    return typeof document.dataDir === 'string' && document.dataDir ? document.dataDir : undefined;
  } catch {
    // The gateway itself reports a bad config file; here it only means "no hint".
    return undefined;
  }
}
