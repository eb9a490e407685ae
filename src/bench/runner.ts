/**
 * Headless notebook runs end to end (kernel start, 8 cells, the output written): `mixprec run`'s runner against
 * `jupyter nbconvert --to notebook --execute`, each with the mixprec kernel and with tslab's kernel (the notebook then
 * imports tfjs and mixprec in its first cell), all measured in one run. Both kernels are found through kernelspecs in a
 * private Jupyter data folder, as Jupyter finds them.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { installKernel } from '../kernel/install';
import { PACKAGE_ROOT } from '../util/package';
import { runNotebook } from '../run/runner';
import { serializeNotebook, type Notebook } from '../run/notebook';
import { formatTable } from '../util/table';
import { useProgress, type BenchSuite } from './suite';

export interface RunnerBenchRow {
  runner: 'mixprec run' | 'jupyter nbconvert';
  kernel: string;
  /** Median wall time, ms, and every run. */
  wallMs: number;
  runsMs: number[];
  /** wallMs / (nbconvert with the same kernel). */
  ratio: number | null;
}

/** The benchmark notebook: 8 small cells of the kind a results notebook has. */
export function benchNotebookCells(imports: string): string[] {
  return [
    `${imports}const x = tf.randomNormal([4096], 0, 1, 'float32', 1);`,
    'const spec = mixprec.specFor("U3", { signed: true });\nspec.kind',
    'const y = x.square().mean();\nawait y.data()',
    'console.log("mean square", (await y.data())[0].toFixed(3));',
    'const rows = [1, 2, 4, 8].map((b) => ({ bits: b, levels: 2 ** b }));',
    'rows.length',
    'for (let i = 0; i < 3; i++) console.log("step", i);',
    'x.shape',
  ];
}

function notebook(kernel: string, cells: string[]): Notebook {
  return {
    cells: cells.map((source) => ({ cell_type: 'code', source, metadata: {}, outputs: [], execution_count: null })),
    metadata: { kernelspec: { name: kernel, display_name: kernel, language: 'typescript' } },
    nbformat: 4,
    nbformat_minor: 5,
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

/** Installs the mixprec and tslab kernelspecs in a fresh data folder; returns the environment that finds them. */
function jupyterData(): { env: NodeJS.ProcessEnv; kernels: string[] } {
  const data = fs.mkdtempSync(path.join(os.tmpdir(), 'mixprec-bench-jupyter-'));
  installKernel({ target: { kind: 'prefix', prefix: data } });
  const kernels = ['mixprec'];
  try {
    const bin = path.join(path.dirname(require.resolve('tslab/package.json')), 'bin', 'tslab');
    const dir = path.join(data, 'share', 'jupyter', 'kernels', 'tslab');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(
      path.join(dir, 'kernel.json'),
      JSON.stringify({
        argv: [process.execPath, bin, 'kernel', '--config-path', '{connection_file}'],
        display_name: 'tslab',
        language: 'typescript',
      }),
    );
    kernels.push('tslab');
  } catch {
    // tslab is a dependency; without it only the mixprec rows are measured
  }
  return {
    env: { ...process.env, JUPYTER_PATH: path.join(data, 'share', 'jupyter'), MIXPREC_BACKEND: process.env.MIXPREC_BACKEND ?? 'wasm' },
    kernels,
  };
}

function hasNbconvert(): boolean {
  return spawnSync('jupyter', ['nbconvert', '--version'], { encoding: 'utf8' }).status === 0;
}

export const runnerSuite: BenchSuite<RunnerBenchRow> = {
  name: 'runner',
  description: 'an 8-cell TypeScript notebook end to end: mixprec run vs jupyter nbconvert --execute, mixprec and tslab kernels',
  async run(ctx) {
    const { env, kernels } = jupyterData();
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'mixprec-bench-runner-'));
    const nbconvert = hasNbconvert();
    const repeats = ctx.quick ? 1 : 3;
    const combos = kernels.flatMap((k) => [
      { runner: 'mixprec run' as const, kernel: k },
      ...(nbconvert ? [{ runner: 'jupyter nbconvert' as const, kernel: k }] : []),
    ]);
    const progress = useProgress(ctx, 'runner', combos.length * repeats);
    const times = new Map<string, number[]>(combos.map((c) => [`${c.runner}/${c.kernel}`, []]));
    let done = 0;
    // Interleaved, so that drift on a shared machine affects every combination alike.
    for (let r = 0; r < repeats; r++) {
      for (const c of combos) {
        progress.update(done++, `${c.runner} · ${c.kernel}`);
        // tslab has nothing preloaded: its first cell imports the same packages (by absolute path, any folder works).
        const imports =
          c.kernel === 'tslab'
            ? `import * as tf from ${JSON.stringify(path.join(PACKAGE_ROOT, 'node_modules', '@tensorflow', 'tfjs'))};\nimport * as mixprec from ${JSON.stringify(path.join(PACKAGE_ROOT, 'dist', 'index'))};\n`
            : '';
        const input = path.join(work, `${c.kernel}.ipynb`);
        fs.writeFileSync(input, serializeNotebook(notebook(c.kernel, benchNotebookCells(imports))));
        const output = path.join(work, `${c.kernel}.${c.runner === 'mixprec run' ? 'mixprec' : 'nbconvert'}.ipynb`);
        const t0 = performance.now();
        if (c.runner === 'mixprec run') {
          const saved = { ...process.env };
          Object.assign(process.env, { JUPYTER_PATH: env.JUPYTER_PATH });
          try {
            const { summary } = await runNotebook(input, { output, env: { MIXPREC_BACKEND: env.MIXPREC_BACKEND } });
            if (summary.status !== 'completed') throw new Error(`runner bench: ${summary.failure?.message}`);
          } finally {
            process.env = saved;
          }
        } else {
          const r2 = spawnSync('jupyter', ['nbconvert', '--to', 'notebook', '--execute', input, '--output', path.basename(output)], {
            cwd: work,
            env,
            encoding: 'utf8',
          });
          if (r2.status !== 0) throw new Error(`runner bench: nbconvert failed: ${r2.stderr.trim().split('\n').slice(-3).join(' ')}`);
        }
        times.get(`${c.runner}/${c.kernel}`)!.push(performance.now() - t0);
      }
    }
    progress.finish();
    const rows = combos.map((c) => {
      const runsMs = times.get(`${c.runner}/${c.kernel}`)!;
      return { runner: c.runner, kernel: c.kernel, wallMs: median(runsMs), runsMs, ratio: null as number | null };
    });
    for (const row of rows) {
      const base = rows.find((r) => r.runner === 'jupyter nbconvert' && r.kernel === row.kernel);
      row.ratio = base ? row.wallMs / base.wallMs : null;
    }
    fs.rmSync(work, { recursive: true, force: true });
    return rows;
  },
  table(rows) {
    return (
      'An 8-cell TypeScript notebook end to end (kernel start, cells, output written); median of the runs\n' +
      formatTable(
        ['runner', 'kernel', 'wall', 'runs', 'vs nbconvert, same kernel'],
        rows.map((r) => [
          r.runner,
          r.kernel,
          `${(r.wallMs / 1000).toFixed(2)} s`,
          r.runsMs.map((m) => (m / 1000).toFixed(2)).join(', '),
          r.ratio === null ? '–' : `${r.ratio.toFixed(2)}×`,
        ]),
      )
    );
  },
};
