/**
 * The PyTorch reference of the train suite, run as a long-lived child process (`resnet20_torch.py --serve`) so that its
 * timing rounds can alternate with mixprec's: on a shared VM the speed drifts over minutes, and a ratio is only fair
 * when both sides were timed under the same conditions.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { PACKAGE_ROOT } from '../util/package';

/** The PyTorch reference script (kept in the repository; run with Debian's python3 and python3-torch). */
export const TORCH_REFERENCE = path.join(PACKAGE_ROOT, 'bench', 'reference', 'resnet20_torch.py');
const PYTHON = process.env.MIXPREC_PYTHON ?? '/usr/bin/python3';

export type TorchDevice = 'cpu' | 'cuda';

/** Whether PyTorch is importable, and which devices it has. */
export function torchDevices(): TorchDevice[] {
  const r = spawnSync(PYTHON, ['-c', 'import torch; print("cuda" if torch.cuda.is_available() else "cpu")'], { encoding: 'utf8' });
  if (r.status !== 0) return [];
  return r.stdout.trim() === 'cuda' ? ['cpu', 'cuda'] : ['cpu'];
}

/** One answered round: the step times, and what PyTorch ran on. */
export interface TorchRound {
  samplesMs: number[];
  device: string;
  threads: number;
  torch: string;
}

/** A running `resnet20_torch.py --serve`; `round` asks it for `steps` timed training steps of one configuration. */
export class TorchReference {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly lines: AsyncIterableIterator<string>;
  private stderr = '';

  constructor(
    readonly device: TorchDevice,
    /** Intra-op threads: by default every CPU this process may use, as mixprec's wasm backend does. */
    readonly threads = os.availableParallelism(),
  ) {
    this.child = spawn(PYTHON, [TORCH_REFERENCE, '--serve', '--device', device, '--threads', String(threads)], { stdio: 'pipe' });
    this.child.stderr.setEncoding('utf8');
    this.child.stderr.on('data', (chunk: string) => {
      this.stderr = (this.stderr + chunk).slice(-4000);
    });
    this.lines = readline.createInterface({ input: this.child.stdout })[Symbol.asyncIterator]();
  }

  async round(quantization: 'float' | 'U3', batch: number, steps: number): Promise<TorchRound> {
    this.child.stdin.write(`${JSON.stringify({ quantization, batch, steps })}\n`);
    const next = await this.lines.next();
    if (next.done) {
      await new Promise<void>((resolve) =>
        this.child.exitCode !== null || this.child.signalCode !== null ? resolve() : this.child.once('close', () => resolve()),
      );
      const tail = this.stderr.trim().split('\n').slice(-3).join(' ');
      throw new Error(`${TORCH_REFERENCE} (${this.device}) ended with ${this.child.exitCode ?? this.child.signalCode}: ${tail || 'no message'}`);
    }
    return JSON.parse(next.value) as TorchRound;
  }

  /** Ends the process (EOF on its stdin) and waits for it. */
  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const closed = new Promise<void>((resolve) => this.child.once('close', () => resolve()));
    this.child.stdin.end();
    await closed;
  }
}
