import { parseArgs } from 'node:util';
import labProfile from '../config/lab.json' with { type: 'json' };
import { validateConfig } from '../config/load';
import { runGateway } from './main';

/**
 * Lab mode: the gateway with emulated terminals and platforms on loopback, so a newcomer sees
 * punches flow end to end with no hardware. Emulators listen on free ports; the gateway's page
 * keeps its usual port (8080, or --port).
 */
export async function runLab(argv: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: { port: { type: 'string' }, 'data-dir': { type: 'string' } },
    strict: true,
  });
  const document = structuredClone(labProfile) as Record<string, unknown> & { http: Record<string, unknown> };
  if (values['data-dir']) document.dataDir = values['data-dir'];
  if (values.port) document.http.port = Number(values.port);
  const result = validateConfig(document, process.env);
  if (!result.ok) {
    process.stderr.write(`lab profile is not valid:\n${result.problems.join('\n')}\n`);
    return 2;
  }
  return runGateway(result.config);
}
