import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { runEmulatorCli } from '../../adapters/zk/emulator-cli';
import { Lab } from './support';

describe('zk emulator CLI', () => {
  it('rejects bad arguments with the usage', async () => {
    await expect(runEmulatorCli(['--users', '5'])).rejects.toThrow(/--port is required/);
    await expect(runEmulatorCli(['--port', '0', '--mode', 'bogus'])).rejects.toThrow(/--mode must be one of/);
    await expect(runEmulatorCli(['--port', '0', '--ack-data', 'some'])).rejects.toThrow(
      /--ack-data must be one of data, all/,
    );
  });

  it('serves a terminal (answering ACK_DATA) that the driver reads, with periodic punches, until SIGTERM', async () => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '-e',
        "import('./adapters/zk/emulator-cli.ts').then(m => m.runEmulatorCli(process.argv.slice(1)))",
        '--',
        '--port',
        '0',
        '--users',
        '3',
        '--records',
        '40',
        '--punch-every',
        '0.1',
        '--ack-data',
        'data',
      ],
      { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const line = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('\n')) resolve(out);
      });
      child.once('exit', (code) => reject(new Error(`exited ${code}`)));
    });
    const port = Number(/127\.0\.0\.1:(\d+)/.exec(line)?.[1]);
    expect(line).toContain('ACK_DATA replies: data');
    expect(port).toBeGreaterThan(0);
    const lab = new Lab();
    try {
      const driver = lab.driver(port);
      await driver.connect();
      // Beyond the 40 seeded records once --punch-every has added one: read until then, not after a
      // guessed pause (the emulator's timer runs late on a loaded machine).
      const deadline = Date.now() + 15_000;
      let batch = await driver.readPunchesSince(null);
      while (batch.punches.length <= 40 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
        batch = await driver.readPunchesSince(null);
      }
      expect(batch.punches.length).toBeGreaterThan(40);
    } finally {
      await lab.cleanup();
      child.kill('SIGTERM');
    }
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(0);
  });
});
