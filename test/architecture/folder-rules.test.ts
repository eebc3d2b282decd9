import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/**
 * The folder rules of docs/architecture.md, kept by this check rather than by memory:
 * - no import circles anywhere in the product's source (static, type-only and dynamic imports all count);
 * - `adapters/<family>/` and `cloud/<platform>/` import only their own folder, the shared model
 *   (`gateway/model.ts`), `config/` and the pure helpers in `lib/`;
 * - `lib/` and `config/` import nothing of the product but themselves (config may use lib);
 * - the shared model holds types and contracts: no functions or constants, classes only for typed errors.
 */

const ROOT = resolve(import.meta.dirname, '../..');
const SOURCE_FOLDERS = ['gateway', 'adapters', 'cloud', 'config', 'lib', 'build'];
const EXTENSIONS = ['.ts', '.tsx'];

interface ImportEdge {
  readonly from: string;
  readonly to: string;
  readonly line: number;
}

function sourceFiles(): string[] {
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (EXTENSIONS.some((e) => name.endsWith(e)) && !name.endsWith('.d.ts')) files.push(path);
    }
  };
  for (const folder of SOURCE_FOLDERS) if (existsSync(join(ROOT, folder))) walk(join(ROOT, folder));
  return files.map((f) => relative(ROOT, f));
}

function resolveImport(fromFile: string, specifier: string): string | undefined {
  if (!specifier.startsWith('.')) return undefined;
  const base = resolve(ROOT, dirname(fromFile), specifier);
  const candidates = [
    base,
    ...EXTENSIONS.map((e) => base + e),
    ...EXTENSIONS.map((e) => base.replace(/\.js$/, e)),
    ...EXTENSIONS.map((e) => join(base, `index${e}`)),
  ];
  for (const candidate of candidates) {
    if (existsSync(candidate) && statSync(candidate).isFile()) return relative(ROOT, candidate);
  }
  return undefined;
}

function importsOf(file: string): ImportEdge[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const info = ts.preProcessFile(text, true, true);
  const lineOf = (pos: number): number => text.slice(0, pos).split('\n').length;
  const edges: ImportEdge[] = [];
  for (const ref of info.importedFiles) {
    const to = resolveImport(file, ref.fileName);
    if (to && /\.(ts|tsx)$/.test(to)) edges.push({ from: file, to, line: lineOf(ref.pos) });
  }
  return edges;
}

/** Tarjan's strongly connected components: every component of more than one file is a circle. */
function circles(files: readonly string[], edges: readonly ImportEdge[]): string[][] {
  const out = new Map<string, string[]>();
  for (const e of edges) out.set(e.from, [...(out.get(e.from) ?? []), e.to]);
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, counter);
    low.set(v, counter);
    counter++;
    stack.push(v);
    onStack.add(v);
    for (const w of out.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      const selfLoop = (out.get(v) ?? []).includes(v);
      if (component.length > 1 || selfLoop) found.push(component.sort());
    }
  };
  for (const f of files) if (!index.has(f)) visit(f);
  return found;
}

/** What a file may import, by where it lives; undefined when the folder has no rule. */
function allowed(from: string): ((to: string) => boolean) | undefined {
  const [top, family] = from.split('/');
  const shared = (to: string): boolean =>
    to === 'gateway/model.ts' || to.startsWith('config/') || to.startsWith('lib/');
  if (top === 'adapters' || top === 'cloud') {
    return (to) => to.startsWith(`${top}/${family}/`) || shared(to);
  }
  if (top === 'lib') return (to) => to.startsWith('lib/');
  if (top === 'config') return (to) => to.startsWith('config/') || to.startsWith('lib/');
  if (from === 'gateway/model.ts') return (to) => to.startsWith('config/');
  return undefined;
}

const files = sourceFiles();
const edges = files.flatMap(importsOf);

describe('folder rules', () => {
  it('reads the whole product source', () => {
    expect(files.length).toBeGreaterThan(100);
    expect(edges.length).toBeGreaterThan(300);
    expect(files).toContain('gateway/model.ts');
  });

  it('has no import circles', () => {
    const found = circles(files, edges).map((component) => {
      const inside = new Set(component);
      const ties = edges
        .filter((e) => inside.has(e.from) && inside.has(e.to))
        .map((e) => `${e.from}:${e.line} -> ${e.to}`);
      return ties.join('\n');
    });
    expect(found, `import circles:\n${found.join('\n\n')}`).toEqual([]);
  });

  it('keeps adapters/, cloud/, lib/, config/ and the model within their allowed imports', () => {
    const broken = edges
      .filter((e) => {
        const rule = allowed(e.from);
        return rule !== undefined && !rule(e.to);
      })
      .map((e) => `${e.from}:${e.line} imports ${e.to}`);
    expect(broken, broken.join('\n')).toEqual([]);
  });

  it('keeps values out of the shared model, except typed errors', () => {
    const text = readFileSync(join(ROOT, 'gateway/model.ts'), 'utf8');
    const source = ts.createSourceFile('model.ts', text, ts.ScriptTarget.ES2022, true);
    const values: string[] = [];
    for (const statement of source.statements) {
      const exported =
        ts.canHaveModifiers(statement) &&
        ts.getModifiers(statement)?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword);
      if (!exported) continue;
      if (ts.isVariableStatement(statement) || ts.isFunctionDeclaration(statement)) {
        values.push(statement.getText().split('\n')[0] ?? '');
      } else if (ts.isClassDeclaration(statement)) {
        const heritage = statement.heritageClauses?.flatMap((h) =>
          h.types.map((t) => t.expression.getText()),
        );
        const isError = heritage?.some((name) => name.endsWith('Error'));
        if (!isError) values.push(`class ${statement.name?.text ?? '?'}`);
      } else if (ts.isEnumDeclaration(statement)) {
        values.push(`enum ${statement.name.text}`);
      }
    }
    expect(values, `values in the shared model: ${values.join('; ')}`).toEqual([]);
  });

  it('detects a circle and a broken rule when given one (the check itself can fail)', () => {
    const fake: ImportEdge[] = [
      { from: 'gateway/a.ts', to: 'gateway/b.ts', line: 1 },
      { from: 'gateway/b.ts', to: 'gateway/a.ts', line: 1 },
    ];
    expect(circles(['gateway/a.ts', 'gateway/b.ts'], fake)).toEqual([['gateway/a.ts', 'gateway/b.ts']]);
    expect(allowed('adapters/zk/driver.ts')?.('gateway/pipeline/pipeline.ts')).toBe(false);
    expect(allowed('adapters/zk/driver.ts')?.('adapters/adms/records.ts')).toBe(false);
    expect(allowed('cloud/deli/upstream.ts')?.('gateway/model.ts')).toBe(true);
  });
});
