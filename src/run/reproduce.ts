/**
 * The main job: execute the paper notebooks headless (N kernels at once), write the executed notebooks and one
 * self-contained HTML report to an output folder. Each notebook carries its own smoke-size parameters in
 * `metadata.mixprec.smoke`, so CI can run the same notebooks tiny.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ensureDir, writeFileAtomic } from '../util/files';
import { PACKAGE_ROOT } from '../util/package';
import { readNotebookFile, writeNotebookFile, type Notebook } from './notebook';
import type { Parameters } from './parameters';
import { notebooksHtml, type ReportEntry } from './report';
import { runNotebook, type CellEvent, type RunSummary } from './runner';

/** The notebooks shipped with mixprec. */
export const NOTEBOOK_DIR = path.join(PACKAGE_ROOT, 'notebooks');

export interface ReproduceOptions {
  /** Output folder for the executed notebooks, report.html and the training runs (default `results`). */
  outDir?: string;
  /** Notebooks to run: file stems or their number prefixes (`03`, `03-parametrizations`); default all. */
  only?: readonly string[];
  notebookDir?: string;
  /** Run every notebook with its `metadata.mixprec.smoke` parameters (tiny; for CI). */
  smoke?: boolean;
  /** Parameters for every notebook (after the smoke ones); a notebook warns about names it does not declare. */
  parameters?: Parameters;
  /** Notebooks at once (default: min(2, CPUs)). */
  parallel?: number;
  kernel?: string;
  timeoutSec?: number;
  /** Also write each executed notebook back over its source (how the committed outputs are made). */
  updateNotebooks?: boolean;
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  reporter?: ReproduceReporter;
}

export interface ReproduceReporter {
  start?(notebooks: readonly { name: string; codeCells: number }[]): void;
  cellStart?(name: string, cell: CellEvent): void;
  cellEnd?(name: string, cell: CellEvent): void;
  notebookEnd?(name: string, summary: RunSummary): void;
  warn?(message: string): void;
}

export interface ReproduceResult {
  outDir: string;
  report: string;
  notebooks: { name: string; output: string; summary: RunSummary }[];
  failed: number;
}

interface Planned {
  name: string;
  input: string;
  output: string;
  title: string;
  parameters: Parameters;
  codeCells: number;
}

/** The notebooks of a folder (`NN-name.ipynb`), filtered by `only`. */
export function listNotebooks(dir: string = NOTEBOOK_DIR, only?: readonly string[]): string[] {
  if (!fs.existsSync(dir)) throw new Error(`${dir}: no notebook folder`);
  const all = fs
    .readdirSync(dir)
    .filter((f) => /^\d+.*\.ipynb$/.test(f) && !f.endsWith('.out.ipynb'))
    .sort();
  if (!only || only.length === 0) return all.map((f) => path.join(dir, f));
  return only.map((want) => {
    const hits = all.filter((f) => f === want || f === `${want}.ipynb` || f.startsWith(`${want}-`));
    if (hits.length !== 1) {
      throw new Error(
        `notebook "${want}": ${hits.length === 0 ? 'no such notebook' : `ambiguous (${hits.join(', ')})`} in ${dir}; notebooks: ${all.join(', ')}`,
      );
    }
    return path.join(dir, hits[0]!);
  });
}

function declaresParameter(nb: Notebook, name: string): boolean {
  const cell = nb.cells.find((c) => c.metadata.tags?.includes('parameters'));
  return cell !== undefined && new RegExp(`\\b(?:const|let|var)\\s+${name}\\b`).test(cell.source);
}

export async function reproduce(o: ReproduceOptions = {}): Promise<ReproduceResult> {
  const notebookDir = path.resolve(o.notebookDir ?? NOTEBOOK_DIR);
  const outDir = path.resolve(o.outDir ?? 'results');
  const parallel = o.parallel ?? Math.max(1, Math.min(2, os.availableParallelism()));
  if (!Number.isInteger(parallel) || parallel < 1) throw new Error(`parallel must be a positive integer, got ${parallel}`);
  // Runs land in <outDir>/runs/<notebook>; the notebooks' own default is ../results/runs/<notebook>, so the parameter
  // is only injected when it differs (the committed notebooks then carry no injected cell).
  const defaultOut = path.resolve(notebookDir, '..', 'results');
  const planned: Planned[] = listNotebooks(notebookDir, o.only).map((input) => {
    const nb = readNotebookFile(input);
    const name = path.basename(input, '.ipynb');
    const meta = (nb.metadata.mixprec ?? {}) as { title?: string; smoke?: Parameters };
    const parameters: Parameters = { ...(o.smoke ? (meta.smoke ?? {}) : {}), ...o.parameters };
    if (outDir !== defaultOut && declaresParameter(nb, 'runsDir') && parameters.runsDir === undefined) {
      parameters.runsDir = path.join(outDir, 'runs', name);
    }
    const codeCells = nb.cells.filter((c) => c.cell_type === 'code' && c.source.trim() !== '').length;
    return { name, input, output: path.join(outDir, `${name}.ipynb`), title: meta.title ?? name, parameters, codeCells };
  });
  ensureDir(o.outDir ?? 'results'); // as given (outDir is resolved), so that an error names it as the user wrote it
  o.reporter?.start?.(planned);

  const results: ReproduceResult['notebooks'] = new Array(planned.length);
  let next = 0;
  const worker = async () => {
    while (next < planned.length && !o.signal?.aborted) {
      const i = next++;
      const p = planned[i]!;
      const { summary, notebook } = await runNotebook(p.input, {
        output: p.output,
        parameters: p.parameters,
        cwd: notebookDir,
        ...(o.kernel ? { kernel: o.kernel } : {}),
        ...(o.timeoutSec ? { timeoutSec: o.timeoutSec } : {}),
        // Kernels at once share the cores: each gets its part for the wasm backend's threads.
        env: { MIXPREC_WASM_THREADS: String(Math.max(1, Math.floor(os.availableParallelism() / parallel))), ...o.env },
        ...(o.signal ? { signal: o.signal } : {}),
        reporter: {
          cellStart: (cell) => o.reporter?.cellStart?.(p.name, cell),
          cellEnd: (cell) => o.reporter?.cellEnd?.(p.name, cell),
          warn: (m) => o.reporter?.warn?.(`${p.name}: ${m}`),
        },
      });
      if (o.updateNotebooks && summary.status === 'completed') writeNotebookFile(p.input, notebook);
      results[i] = { name: p.name, output: p.output, summary };
      o.reporter?.notebookEnd?.(p.name, summary);
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, planned.length) }, worker));

  const done = results.filter(Boolean);
  const entries: ReportEntry[] = planned.flatMap((p, i) => {
    const r = results[i];
    return r === undefined
      ? []
      : [
          {
            name: p.name,
            title: p.title,
            notebook: readNotebookFile(fs.existsSync(p.output) ? p.output : p.input),
            href: `${p.name}.ipynb`,
            status: r.summary.status,
            durationSec: r.summary.durationSec,
          },
        ];
  });
  const report = path.join(outDir, 'report.html');
  writeFileAtomic(
    report,
    notebooksHtml(entries, { subtitle: `${o.smoke ? 'smoke-size' : 'default'} parameters, ${parallel} kernel${parallel > 1 ? 's' : ''} at once` }),
  );
  return { outDir, report, notebooks: done, failed: done.filter((r) => r.summary.status !== 'completed').length + (planned.length - done.length) };
}
