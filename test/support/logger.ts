import pino from 'pino';
import type { Logger } from '../../gateway/model';

/** A real pino logger for tests: silent unless TEST_LOG=debug (or another level) is set. */
export function testLogger(name = 'test'): Logger {
  return pino({ name, level: process.env.TEST_LOG ?? 'silent' });
}
