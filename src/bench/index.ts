/** `mixprec bench`: runs suites, prints their tables, writes one JSON record with machine and backend reports. */
import * as path from 'node:path';
import { checkDirCreatable, writeFileAtomic } from '../util/files';
import { benchBackends, machineInfo } from './harness';
import { quantSuite } from './quant';
import { trainSuite } from './train';
import { kernelSuite } from './kernel';
import { runnerSuite } from './runner';
import { webgpuSuite } from './webgpu';
import { switchBackend, type BenchContext, type BenchSuite } from './suite';

export const BENCH_SUITES: readonly BenchSuite<unknown>[] = [
  quantSuite as BenchSuite<unknown>,
  trainSuite as BenchSuite<unknown>,
  kernelSuite as BenchSuite<unknown>,
  runnerSuite as BenchSuite<unknown>,
  webgpuSuite as BenchSuite<unknown>,
];

export interface BenchOptions {
  suites?: string[];
  backends?: string[];
  quick?: boolean;
  elements?: number;
  /** Batch sizes for the train suite. */
  batches?: number[];
  /** Output JSON file (default bench-results/<suites>.json). */
  out?: string;
  progress?: boolean;
  /** Where tables go (default stdout). */
  print?: (text: string) => void;
}

export interface BenchRecord {
  date: string;
  machine: Record<string, string | number>;
  backends: BenchContext['backends'][number]['report'][];
  suites: Record<string, unknown[]>;
}

export async function runBench(options: BenchOptions = {}): Promise<{ record: BenchRecord; file: string }> {
  const names = options.suites && options.suites.length > 0 ? options.suites : BENCH_SUITES.map((s) => s.name);
  const suites = names.map((n) => {
    const suite = BENCH_SUITES.find((s) => s.name === n);
    if (suite === undefined) throw new Error(`unknown benchmark suite "${n}"; available: ${BENCH_SUITES.map((s) => s.name).join(', ')}`);
    return suite;
  });
  const file = options.out ?? path.join('bench-results', `${names.join('-')}.json`);
  checkDirCreatable(path.dirname(file)); // before the benchmarks, not after them
  const backends = await benchBackends(options.backends);
  const ctx: BenchContext = {
    backends,
    quick: options.quick ?? false,
    options: { ...(options.elements !== undefined ? { elements: options.elements } : {}), ...(options.batches ? { batches: options.batches } : {}) },
    progress: options.progress ?? process.stderr.isTTY === true,
    switchTo: switchBackend,
  };
  const print = options.print ?? ((text: string) => process.stdout.write(`${text}\n`));
  print(`Backends: ${backends.map((b) => `${b.name} (${b.report.device})`).join('; ')}`);
  const record: BenchRecord = { date: new Date().toISOString(), machine: machineInfo(), backends: backends.map((b) => b.report), suites: {} };
  for (const suite of suites) {
    const rows = await suite.run(ctx);
    record.suites[suite.name] = rows;
    print(`\n${suite.table(rows)}`);
  }
  writeFileAtomic(file, `${JSON.stringify(record, null, 2)}\n`);
  print(`\nwrote ${file}`);
  return { record, file };
}
