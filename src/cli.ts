/**
 * The `mixprec` command line: argument parsing and dispatch only. Every command is a library function; usage errors
 * exit with 2, failures with 1, each as one line naming the problem.
 */
import { formatBackendReport, initBackend, type BackendReport } from './backend';
import { runBench, BENCH_SUITES } from './bench';
import { gaussianExperiment } from './train/gaussian';
import { formatTable } from './util/table';
import { progressBar } from './util/progress';
import { SHORT_NAME_LIST } from './quant';

type OptionType = 'string' | 'number' | 'boolean' | 'list';
interface OptionSpec { name: string; type: OptionType; description: string; default?: string }
interface Command {
  name: string;
  summary: string;
  options: OptionSpec[];
  run(opts: Record<string, unknown>, out: (s: string) => void): Promise<void>;
}

/** A usage error: exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

const BACKEND_OPTION: OptionSpec = {
  name: 'backend', type: 'string', description: 'compute backend: tensorflow-gpu, tensorflow, webgpu, wasm or cpu (default: MIXPREC_BACKEND, else the first that starts)',
};

function parseOptions(command: Command, argv: string[]): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) throw new UsageError(`unexpected argument "${arg}" for \`mixprec ${command.name}\` (see mixprec ${command.name} --help)`);
    const [key, inline] = arg.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    const spec = command.options.find((o) => o.name === key);
    if (spec === undefined) throw new UsageError(`unknown option --${key} for \`mixprec ${command.name}\` (see mixprec ${command.name} --help)`);
    if (spec.type === 'boolean') {
      if (inline !== undefined && inline !== 'true' && inline !== 'false') throw new UsageError(`--${key} takes no value or true/false, got "${inline}"`);
      result[key] = inline === undefined || inline === 'true';
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined || (inline === undefined && value.startsWith('--'))) throw new UsageError(`--${key} needs a value`);
    if (spec.type === 'number') {
      const n = Number(value);
      if (value.trim() === '' || !Number.isFinite(n)) throw new UsageError(`--${key} must be a number, got "${value}"`);
      result[key] = n;
    } else if (spec.type === 'list') {
      result[key] = [...((result[key] as string[] | undefined) ?? []), ...value.split(',').filter(Boolean)];
    } else {
      result[key] = value;
    }
  }
  return result;
}

function positiveInteger(opts: Record<string, unknown>, key: string, fallback: number): number {
  const v = opts[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) throw new UsageError(`--${key} must be a positive integer, got ${String(v)}`);
  return v;
}

const commands: Command[] = [
  {
    name: 'demo',
    summary: 'the paper\'s Gaussian experiment (Fig. 3): learn each parametrization\'s parameters to minimise quantization MSE',
    options: [
      { name: 'steps', type: 'number', description: 'gradient-descent steps', default: '200' },
      { name: 'lr', type: 'number', description: 'learning rate, the same for all parametrizations', default: '1' },
      { name: 'samples', type: 'number', description: 'number of N(0,1) samples', default: '10000' },
      { name: 'seed', type: 'number', description: 'random seed (positive integer)', default: '1' },
      BACKEND_OPTION,
    ],
    async run(opts, out) {
      const steps = positiveInteger(opts, 'steps', 200);
      const samples = positiveInteger(opts, 'samples', 10_000);
      const seed = positiveInteger(opts, 'seed', 1);
      const lr = (opts.lr as number | undefined) ?? 1;
      if (!(lr > 0)) throw new UsageError(`--lr must be positive, got ${lr}`);
      const report = await initBackend(opts.backend as string | undefined);
      out(`backend: ${formatBackendReport(report)}`);
      out(`Quantizing ${samples} samples of N(0,1), every parametrization initialised at 4 bits, ${steps} steps of gradient descent (lr ${lr}):`);
      const bar = progressBar('demo', steps * SHORT_NAME_LIST.length);
      let done = 0;
      const runs = await gaussianExperiment({
        steps, samples, seed, learningRate: lr,
        onStep: ({ short, step, mse }) => bar.update(++done, `${short} step ${step} MSE ${mse.toExponential(2)}`),
      });
      bar.finish();
      const rows = runs.map((r) => {
        const p = Object.entries(r.final.params).map(([k, v]) => `${k}=${v.toPrecision(3)}`).join(' ');
        return [r.short, r.mse[0]!.toExponential(3), r.mse.at(-1)!.toExponential(3), Math.min(...r.mse).toExponential(3), String(r.final.bits), p];
      });
      out(formatTable(['θ', 'MSE start', 'MSE end', 'MSE min', 'bits', 'final parameters'], rows, ['l', 'r', 'r', 'r', 'r', 'l']));
      const best = [...runs].sort((a, b) => a.mse.at(-1)! - b.mse.at(-1)!)[0]!;
      out(`Lowest final MSE: ${best.short}. The paper (Fig. 3) finds U3 and P3 converge to the lowest MSE without oscillation.`);
    },
  },
  {
    name: 'backend',
    summary: 'start a compute backend and print its report (and why others were skipped)',
    options: [BACKEND_OPTION, { name: 'json', type: 'boolean', description: 'print the report as JSON' }],
    async run(opts, out) {
      const report: BackendReport = await initBackend(opts.backend as string | undefined);
      if (opts.json) {
        out(JSON.stringify(report, null, 2));
        return;
      }
      out(formatBackendReport(report));
      out(`versions: ${Object.entries(report.versions).map(([k, v]) => `${k} ${v}`).join(', ')}`);
      for (const s of report.skipped) out(`skipped ${s.name}: ${s.reason}`);
    },
  },
  {
    name: 'bench',
    summary: `benchmarks (suites: ${BENCH_SUITES.map((s) => s.name).join(', ')}): print a table and write JSON`,
    options: [
      { name: 'suite', type: 'list', description: `suites to run (${BENCH_SUITES.map((s) => `${s.name}: ${s.description}`).join('; ')})`, default: 'all' },
      { name: 'backend', type: 'list', description: 'backends to measure (default: every one that starts here)' },
      { name: 'elements', type: 'number', description: 'tensor size for the quant suite', default: '1048576' },
      { name: 'batch', type: 'list', description: 'batch sizes for the train suite', default: '32,128' },
      { name: 'quick', type: 'boolean', description: 'small sizes and short time budgets (smoke test)' },
      { name: 'out', type: 'string', description: 'JSON output file', default: 'bench-results/<suites>.json' },
    ],
    async run(opts, out) {
      await runBench({
        suites: opts.suite as string[] | undefined,
        backends: opts.backend as string[] | undefined,
        quick: opts.quick === true,
        ...(opts.elements !== undefined ? { elements: positiveInteger(opts, 'elements', 1) } : {}),
        ...(opts.batch !== undefined ? { batches: (opts.batch as string[]).map((b) => {
          const n = Number(b);
          if (!Number.isInteger(n) || n <= 0) throw new UsageError(`--batch takes positive integers, got "${b}"`);
          return n;
        }) } : {}),
        ...(opts.out !== undefined ? { out: opts.out as string } : {}),
        print: out,
      });
    },
  },
];

function version(): string {
  return (require('../package.json') as { version: string }).version;
}

function usage(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    `mixprec ${version()}: mixed-precision DNNs (Uhlich et al., ICLR 2020) in TypeScript`,
    '',
    'usage: mixprec <command> [options]',
    '',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'mixprec <command> --help shows the options of a command.',
  ].join('\n');
}

function commandHelp(c: Command): string {
  const lines = [`usage: mixprec ${c.name} [options]`, '', c.summary, '', 'options:'];
  for (const o of c.options) {
    const flag = `--${o.name}${o.type === 'boolean' ? '' : o.type === 'list' ? ' A[,B]' : o.type === 'number' ? ' N' : ' VALUE'}`;
    lines.push(`  ${flag.padEnd(22)} ${o.description}${o.default !== undefined ? ` (default ${o.default})` : ''}`);
  }
  lines.push(`  ${'--help'.padEnd(22)} this text`);
  return lines.join('\n');
}

/** Runs the CLI; resolves to the process exit code. */
export async function main(argv: string[], out: (s: string) => void = (s) => process.stdout.write(`${s}\n`)): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    const target = rest[0] !== undefined ? commands.find((c) => c.name === rest[0]) : undefined;
    out(target ? commandHelp(target) : usage());
    return 0;
  }
  if (name === '--version' || name === 'version') {
    out(version());
    return 0;
  }
  const command = commands.find((c) => c.name === name);
  try {
    if (command === undefined) throw new UsageError(`unknown command "${name}"; commands: ${commands.map((c) => c.name).join(', ')}`);
    if (rest.includes('--help') || rest.includes('-h')) {
      out(commandHelp(command));
      return 0;
    }
    await command.run(parseOptions(command, rest), out);
    return 0;
  } catch (err) {
    const e = err as Error;
    process.stderr.write(`mixprec${command ? ` ${command.name}` : ''}: ${e.message}\n`);
    if (process.env.MIXPREC_DEBUG) process.stderr.write(`${e.stack}\n`);
    return err instanceof UsageError ? 2 : 1;
  }
}
