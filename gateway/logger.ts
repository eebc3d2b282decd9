import pino from 'pino';
import type { Logger } from './model';

/** Field names whose values never reach a log line, wherever they appear (two levels deep). */
export const SECRET_FIELDS = [
  'deviceKey',
  'sm4Key',
  'sm4Iv',
  'password',
  'adminPasswordHash',
  'apiToken',
  'metricsToken',
  'commKey',
  'commandKey',
  'authorization',
  'cookie',
] as const;

const REDACT_PATHS = SECRET_FIELDS.flatMap((field) => [field, `*.${field}`, `*.*.${field}`]);

/** Structured JSON lines on stdout (journald/systemd picks them up); secrets censored. */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      name: 'edge-gateway',
      level,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}
