/** The `mixprec` command as a user runs it: the bin script over the built package. */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const root = path.resolve(__dirname, '..', '..');
const bin = path.join(root, 'bin', 'mixprec.js');

function mixprec(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: root, encoding: 'utf8', env: { ...process.env, MIXPREC_BACKEND: '' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('mixprec CLI', () => {
  it('prints its version and usage', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string };
    assert.equal(mixprec('--version').stdout.trim(), pkg.version);
    const help = mixprec('--help');
    assert.equal(help.code, 0);
    for (const command of ['demo', 'train', 'data', 'kernel', 'run', 'sweep', 'backend', 'bench'])
      assert.match(help.stdout, new RegExp(`\\n  ${command} `));
    assert.match(mixprec('bench', '--help').stdout, /--suite A\[,B\][\s\S]*--quick[\s\S]*--out VALUE/);
  });

  it('reports the backend it starts', () => {
    const r = mixprec('backend', '--backend', 'cpu', '--json');
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as { name: string; threads: number };
    assert.equal(report.name, 'cpu');
    assert.equal(report.threads, 1);
  });

  it('runs the Gaussian demo and prints one row per parametrization', () => {
    const r = mixprec('demo', '--steps', '3', '--samples', '500', '--backend', 'cpu');
    assert.equal(r.code, 0, r.stderr);
    for (const short of ['U1', 'U2', 'U3', 'P1', 'P2', 'P3']) assert.match(r.stdout, new RegExp(`\\| ${short} +\\| +\\d\\.\\d+e-\\d`));
    assert.match(r.stdout, /Lowest final MSE: (U|P)\d/);
  });

  it('accepts demo seed 0: the same samples every time, other samples than seed 1', () => {
    const table = (seed: string) => {
      const r = mixprec('demo', '--steps', '2', '--samples', '200', '--backend', 'cpu', '--seed', seed);
      assert.equal(r.code, 0, r.stderr);
      return r.stdout
        .split('\n')
        .filter((l) => /^\| (U|P)\d/.test(l))
        .join('\n');
    };
    const zero = table('0');
    assert.equal(table('0'), zero);
    assert.notEqual(table('1'), zero);
  });

  it('benchmarks quantizers and writes the JSON record atomically', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mixprec-bench-'));
    const out = path.join(dir, 'quant.json');
    const r = mixprec('bench', '--quick', '--backend', 'cpu', '--elements', '4096', '--out', out);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /\| identity +\| +[\d.]+ [kM]?elem\/s \(1\.00×\)/);
    const record = JSON.parse(fs.readFileSync(out, 'utf8')) as {
      suites: { quant: { quantizer: string; elementsPerSecond: number; backend: string; path: string }[] };
      machine: { cores: number };
    };
    const rows = record.suites.quant;
    // The fused kernels and the composed ops they replace, in the same run.
    for (const which of ['fused', 'composed']) {
      assert.deepEqual(
        rows.filter((x) => x.path === which).map((x) => x.quantizer),
        ['identity', 'U1', 'U2', 'U3', 'P1', 'P2', 'P3', 'fp', 'pow2'],
      );
    }
    for (const row of rows) assert.ok(row.elementsPerSecond > 0 && row.backend === 'cpu');
    assert.match(r.stdout, /cpu fused .*cpu composed/);
    assert.deepEqual(fs.readdirSync(dir), ['quant.json'], 'no temporary file left');
  });

  it('usage errors exit 2 and failures exit 1, each with one line naming the problem', () => {
    const bad = mixprec('demo', '--steps', 'x');
    assert.equal(bad.code, 2);
    assert.equal(bad.stderr.trim(), 'mixprec demo: --steps must be a number, got "x"');
    const unknown = mixprec('frobnicate');
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown command "frobnicate"; commands: demo, train, data, kernel, run, reproduce, sweep, backend, bench/);
    const option = mixprec('bench', '--suites', 'quant');
    assert.equal(option.code, 2);
    assert.match(option.stderr, /unknown option --suites for `mixprec bench`/);
    const backend = mixprec('backend', '--backend', 'tensorflow');
    assert.equal(backend.code, 1);
    assert.match(backend.stderr, /^mixprec backend: backend "tensorflow" cannot start: @tensorflow\/tfjs-node/);
    assert.equal(backend.stderr.trim().split('\n').length, 1);
    const notebook = mixprec('reproduce', '--only', '99', '--out', fs.mkdtempSync(path.join(os.tmpdir(), 'mixprec-rep-')));
    assert.equal(notebook.code, 1);
    assert.match(notebook.stderr, /^mixprec reproduce: notebook "99": no such notebook in .*notebooks; notebooks: 01-quantizers\.ipynb, /);
    const suite = mixprec('bench', '--suite', 'nope', '--backend', 'cpu');
    assert.equal(suite.code, 1);
    assert.match(suite.stderr, /unknown benchmark suite "nope"; available: quant/);
  });
});
