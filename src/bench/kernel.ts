/**
 * Kernel latency: from spawning the kernel process to the result of its first cell (library preloaded, as a
 * notebook's first cell sees it), and the round trip of a trivial cell; for mixprec's kernel and, when installed,
 * tslab's (the kernel it is built on), measured in the same run.
 */
import * as path from 'node:path';
import { launchKernel } from '../run/launch';
import { mixprecKernelSpec } from '../kernel/install';
import { PACKAGE_ROOT } from '../util/package';
import type { FoundKernelSpec } from '../jupyter/kernelspec';
import { formatTable } from '../util/table';
import { useProgress, type BenchSuite } from './suite';

export interface KernelBenchRow {
  kernel: string;
  /** The first cell: trivial for mixprec (the library is preloaded), the imports for tslab. */
  firstCell: string;
  /** Median over the starts, ms. */
  startToFirstResultMs: number;
  startsMs: number[];
  /** Median round trip of `1 + 1`, ms. */
  trivialCellMs: number;
}

interface Candidate {
  spec: FoundKernelSpec;
  firstCell: string;
  cwd?: string;
}

function tslabSpec(): FoundKernelSpec | null {
  try {
    const bin = path.join(path.dirname(require.resolve('tslab/package.json')), 'bin', 'tslab');
    return {
      name: 'tslab',
      resourceDir: '',
      spec: { argv: [process.execPath, bin, 'kernel', '--config-path', '{connection_file}'], display_name: 'tslab', language: 'typescript' },
    };
  } catch {
    return null;
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

async function measure({ spec, firstCell, cwd }: Candidate, starts: number, trips: number): Promise<KernelBenchRow> {
  const startsMs: number[] = [];
  let trivial: number[] = [];
  for (let i = 0; i < starts; i++) {
    const t0 = performance.now();
    const kernel = await launchKernel(spec, {
      stderr: 'ignore',
      env: { MIXPREC_BACKEND: process.env.MIXPREC_BACKEND ?? 'wasm' },
      ...(cwd ? { cwd } : {}),
    });
    const first = await kernel.client.execute(firstCell).done;
    if ((first.reply.content as { status: string }).status !== 'ok') throw new Error(`${spec.name}: the first cell failed`);
    startsMs.push(performance.now() - t0);
    if (i === 0) {
      trivial = [];
      for (let k = 0; k < trips; k++) {
        const t = performance.now();
        await kernel.client.execute('1 + 1').done;
        trivial.push(performance.now() - t);
      }
    }
    await kernel.shutdown();
  }
  return { kernel: spec.name, firstCell, startToFirstResultMs: median(startsMs), startsMs, trivialCellMs: median(trivial) };
}

export const kernelSuite: BenchSuite<KernelBenchRow> = {
  name: 'kernel',
  description: 'Jupyter kernel start to first cell result, and trivial-cell round trip (mixprec vs tslab)',
  async run(ctx) {
    const candidates: Candidate[] = [{ spec: { name: 'mixprec', resourceDir: '', spec: mixprecKernelSpec() }, firstCell: '1 + 1' }];
    const tslab = tslabSpec();
    // tslab gets the same library in its first cell, by import (from the package folder, where it resolves).
    if (tslab)
      candidates.push({
        spec: tslab,
        cwd: PACKAGE_ROOT,
        firstCell: 'import * as tf from "@tensorflow/tfjs"; import * as mixprec from "./dist/index"; 1 + 1',
      });
    const progress = useProgress(ctx, 'kernel', candidates.length);
    const rows: KernelBenchRow[] = [];
    for (const [i, c] of candidates.entries()) {
      progress.update(i, c.spec.name);
      rows.push(await measure(c, ctx.quick ? 1 : 3, ctx.quick ? 3 : 20));
    }
    progress.finish();
    return rows;
  },
  table(rows) {
    return (
      'Kernel start to first cell result with mixprec and tfjs loaded (median of starts), and trivial cell round trip\n' +
      formatTable(
        ['kernel', 'first cell', 'start → first result', 'starts', 'trivial cell'],
        rows.map((r) => [
          r.kernel,
          r.firstCell.length > 30 ? 'imports mixprec and tfjs' : r.firstCell,
          `${(r.startToFirstResultMs / 1000).toFixed(2)} s`,
          r.startsMs.map((m) => (m / 1000).toFixed(2)).join(', '),
          `${r.trivialCellMs.toFixed(1)} ms`,
        ]),
      )
    );
  },
};
