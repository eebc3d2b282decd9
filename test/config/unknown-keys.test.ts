import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../config/load';

/** A misspelt key must not be silently ignored: a setting that does nothing is a defect. */
describe('unknown keys are errors everywhere in the file', () => {
  const base = {
    site: { name: 'Site', timezone: 'Asia/Shanghai' },
    terminals: [{ id: 'gate-1', driver: 'zk', host: '127.0.0.1', direction: 'in' }],
  };

  it('accepts the base document', () => {
    expect(validateConfig(base)).toMatchObject({ ok: true });
  });

  const cases: Array<[string, (doc: Record<string, unknown>) => void]> = [
    ['a ZK terminal', (doc) => ((doc.terminals as Record<string, unknown>[])[0]!.clearLogAfterJournl = true)],
    [
      'a Modbus terminal',
      (doc) =>
        ((doc.terminals as unknown[])[0] = {
          id: 'gate-1',
          driver: 'modbus',
          host: '127.0.0.1',
          direction: 'in',
          unitID: 3,
        }),
    ],
    [
      'an ADMS terminal',
      (doc) =>
        ((doc.terminals as unknown[])[0] = {
          id: 'gate-1',
          driver: 'adms',
          sn: 'CK1',
          direction: 'in',
          sn2: 'x',
        }),
    ],
    ['the Sichuan upstream', (doc) => (doc.upstreams = { sichuan: { enabled: false, heartbeatSecs: 60 } })],
    ['the Deli upstream', (doc) => (doc.upstreams = { deli: { enabled: false, keepalive: 60 } })],
  ];

  for (const [where, spoil] of cases) {
    it(`refuses an unknown key in ${where}, naming it`, () => {
      const doc = structuredClone(base) as Record<string, unknown>;
      spoil(doc);
      const result = validateConfig(doc);
      expect(result.ok).toBe(false);
      const problems = result.ok ? [] : result.problems.join('\n');
      expect(problems).toMatch(/clearLogAfterJournl|unitID|sn2|heartbeatSecs|keepalive/);
    });
  }
});
