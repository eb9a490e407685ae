/**
 * The package's entries over the built package (dist/): `mixprec` is the library a kernel loads into every
 * notebook, without the headless runner and the benchmarks, which are `mixprec/tools`; both resolve through
 * package.json "exports" from a folder that has mixprec installed, as a notebook's does. And the notebook API
 * (src/notebook) and the kernel (src/kernel) import each other in no cycle.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..');
const DIST = path.join(ROOT, 'dist');

/** The dist/ modules (relative paths) that requiring `entry` in a fresh Node process loads, and the entry's export names. */
function load(entry: string): { modules: string[]; exports: string[] } {
  const script = `const m = require(${JSON.stringify(entry)});
const dist = ${JSON.stringify(DIST + path.sep)};
const modules = Object.keys(require.cache).filter((f) => f.startsWith(dist)).map((f) => f.slice(dist.length));
process.stdout.write(JSON.stringify({ modules, exports: Object.keys(m) }));`;
  const r = spawnSync(process.execPath, ['-e', script], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, MIXPREC_BACKEND: '' } });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as { modules: string[]; exports: string[] };
}

describe('package entries', () => {
  it('loads the library without the runner or the benchmarks', () => {
    const main = load(path.join(DIST, 'index.js'));
    assert.ok(main.modules.includes('index.js') && main.modules.includes(path.join('notebook', 'display.js')), main.modules.join(', '));
    assert.deepEqual(
      main.modules.filter((m) => /^(run|bench)[/\\]/.test(m) || m === 'tools.js'),
      [],
    );
    for (const name of ['train', 'createQuantizer', 'display', 'trainingWidget', 'installKernel']) assert.ok(main.exports.includes(name), name);
    for (const name of ['runNotebook', 'runSweep', 'reproduce', 'runBench']) assert.ok(!main.exports.includes(name), name);
  });

  it('has the runner and the benchmarks in mixprec/tools', () => {
    const tools = load(path.join(DIST, 'tools.js'));
    assert.ok(tools.modules.some((m) => m.startsWith(`run${path.sep}`)) && tools.modules.some((m) => m.startsWith(`bench${path.sep}`)));
    for (const name of ['runNotebook', 'runSweep', 'reproduce', 'notebooksHtml', 'launchKernel', 'runBench', 'BENCH_SUITES']) {
      assert.ok(tools.exports.includes(name), name);
    }
  });

  it('resolves mixprec, mixprec/tools and their types through "exports" from a folder that has mixprec installed', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { exports: Record<string, string | Record<string, string>> };
    for (const [entry, target] of Object.entries(pkg.exports)) {
      for (const file of typeof target === 'string' ? [target] : Object.values(target)) {
        assert.ok(fs.existsSync(path.join(ROOT, file)), `${entry} → ${file} does not exist (built?)`);
      }
    }
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'mixprec-entries-'));
    try {
      fs.mkdirSync(path.join(folder, 'node_modules'));
      fs.symlinkSync(ROOT, path.join(folder, 'node_modules', 'mixprec'), 'dir');
      const script = `const show = (id) => { try { return require.resolve(id); } catch (e) { return e.code; } };
process.stdout.write(JSON.stringify(['mixprec', 'mixprec/tools', 'mixprec/package.json', 'mixprec/dist/run/runner.js'].map(show)));`;
      const r = spawnSync(process.execPath, ['--preserve-symlinks', '-e', script], { cwd: folder, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const resolved = (JSON.parse(r.stdout) as string[]).map((f) =>
        f.startsWith(folder) ? path.relative(path.join(folder, 'node_modules', 'mixprec'), f) : f,
      );
      assert.deepEqual(resolved, [path.join('dist', 'index.js'), path.join('dist', 'tools.js'), 'package.json', 'ERR_PACKAGE_PATH_NOT_EXPORTED']);
    } finally {
      fs.rmSync(folder, { recursive: true, force: true });
    }
  });

  it('has no import cycle among src/notebook and src/kernel', () => {
    const dirs = ['notebook', 'kernel'].map((d) => path.join(ROOT, 'src', d));
    const files = dirs.flatMap((d) =>
      fs
        .readdirSync(d)
        .filter((f) => f.endsWith('.ts'))
        .map((f) => path.join(d, f)),
    );
    const resolveImport = (from: string, spec: string) =>
      [`${path.resolve(path.dirname(from), spec)}.ts`, path.join(path.resolve(path.dirname(from), spec), 'index.ts')].find((f) => files.includes(f));
    const imports = new Map(
      files.map((f) => {
        const text = fs.readFileSync(f, 'utf8');
        const specs = [
          ...text.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+'(\.[^']+)'/gm),
          ...text.matchAll(/\b(?:require|import)\('(\.[^']+)'\)/g),
        ].map((m) => m[1]!);
        return [f, specs.map((s) => resolveImport(f, s)).filter((x): x is string => x !== undefined)];
      }),
    );
    const cycles: string[] = [];
    const visit = (file: string, trail: string[]) => {
      if (trail.includes(file)) {
        cycles.push([...trail.slice(trail.indexOf(file)), file].map((f) => path.relative(path.join(ROOT, 'src'), f)).join(' → '));
        return;
      }
      for (const next of imports.get(file) ?? []) visit(next, [...trail, file]);
    };
    for (const f of files) visit(f, []);
    assert.deepEqual([...new Set(cycles)], []);
  });
});
