/**
 * `npm run bench`: runs every benchmark (or those named: `npm run bench -- journal zk`) one after
 * another, each bundled with esbuild and run on plain node in its own process (so tsx's compiler
 * does not inflate memory figures), then writes bench-report.json and bench-report.md with every
 * figure beside its goal, and prints the JSON.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, type Plugin } from 'esbuild';
import { BENCH_MARKER, type BenchResult, goalMet } from './report';

const ROOT = resolve(import.meta.dirname, '../..');
const OUT = join(ROOT, '.tmp', 'bench');
/**
 * Benchmarks that run only when named (`npm run bench -- history`) or with `--all`: `history` and
 * `web` build the binary and seed 10,000,000 punches (HISTORY_BENCH_DIR keeps them for the other),
 * a quarter of an hour each on a small machine.
 */
const ON_REQUEST = new Set(['history', 'web']);

/**
 * The gateway's sources that find files beside themselves (the sheet writer's thread and tsx, the
 * page's assets) keep their place in the checkout: in the bundle `import.meta.url` would be the
 * bundle's, and the sheet writer's thread then failed to start (the reports benchmark's files broke).
 */
const sourcePlace: Plugin = {
  name: 'source-place',
  setup(pluginBuild) {
    pluginBuild.onLoad({ filter: /[\\/]gateway[\\/].*\.tsx?$/ }, async (args) => {
      const text = await readFile(args.path, 'utf8');
      if (!text.includes('import.meta.url')) return undefined;
      return {
        contents: text.replaceAll('import.meta.url', JSON.stringify(pathToFileURL(args.path).href)),
        loader: args.path.endsWith('.tsx') ? 'tsx' : 'ts',
      };
    });
  },
};

async function runOne(file: string): Promise<BenchResult | { bench: string; error: string }> {
  const name = basename(file, '.bench.ts');
  const outfile = join(OUT, `${name}.mjs`);
  await build({
    entryPoints: [file],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    logLevel: 'error',
    plugins: [sourcePlace],
  });
  return new Promise((resolvePromise) => {
    const child = spawn(process.execPath, [outfile], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.on('close', (code) => {
      const line = stdout.split('\n').find((l) => l.startsWith(BENCH_MARKER));
      if (!line) resolvePromise({ bench: name, error: `exited ${code} without a result` });
      else resolvePromise(JSON.parse(line.slice(BENCH_MARKER.length)) as BenchResult);
    });
  });
}

function markdown(results: ReadonlyArray<BenchResult | { bench: string; error: string }>): string {
  const rows = ['| benchmark | figure | value | goal | met |', '| --- | --- | --- | --- | --- |'];
  for (const result of results) {
    if ('error' in result) {
      rows.push(`| ${result.bench} | — | ${result.error} | | no |`);
      continue;
    }
    const goals = new Map(result.goals.map((g) => [g.figure, g]));
    for (const [figure, value] of Object.entries(result.figures)) {
      const goal = goals.get(figure);
      const met = goal ? goalMet(goal, result.figures) : null;
      rows.push(
        `| ${result.bench} | ${figure} | ${value} | ${goal ? `${goal.op} ${goal.target} (${goal.source})` : ''} | ${met === null ? '' : met ? 'yes' : 'no'} |`,
      );
    }
  }
  return `${rows.join('\n')}\n`;
}

type Entry = BenchResult | { bench: string; error: string };

function readPrevious(): Entry[] {
  try {
    return (JSON.parse(readFileSync(join(ROOT, 'bench-report.json'), 'utf8')) as { results: Entry[] })
      .results;
  } catch {
    return [];
  }
}

async function main(): Promise<void> {
  mkdirSync(OUT, { recursive: true });
  const all = process.argv.includes('--all');
  const wanted = process.argv.slice(2).filter((a) => a !== '--all');
  const files = readdirSync(import.meta.dirname)
    .filter((f) => f.endsWith('.bench.ts'))
    .filter((f) => {
      const name = basename(f, '.bench.ts');
      return wanted.length === 0 ? all || !ON_REQUEST.has(name) : wanted.includes(name);
    })
    .sort()
    .map((f) => join(import.meta.dirname, f));
  const results = [];
  for (const file of files) {
    process.stderr.write(`bench ${basename(file)} …\n`);
    results.push(await runOne(file));
  }
  // A partial run (`npm run bench -- zk`) replaces only its own benchmarks in the report.
  const previous = wanted.length > 0 ? readPrevious() : [];
  const fresh = new Set(results.map((r) => r.bench));
  const merged = [...previous.filter((r) => !fresh.has(r.bench)), ...results].sort((a, b) =>
    a.bench.localeCompare(b.bench),
  );
  const report = {
    machine: { node: process.version, cpus: (await import('node:os')).cpus().length },
    at: new Date().toISOString(),
    results: merged,
  };
  writeFileSync(join(ROOT, 'bench-report.json'), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(join(ROOT, 'bench-report.md'), markdown(merged));
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  const failed = results.some((r) => 'error' in r);
  process.exitCode = failed ? 1 : 0;
}

void main();
