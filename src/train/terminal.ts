/** Training progress in a terminal: a bar per epoch (step, loss, error, speed), a line per epoch, a final summary. */
import { formatChange, type TrainEvent, type TrainResult } from './trainer';
import { progressBar, type Progress } from '../util/progress';
import { formatTable } from '../util/table';

const pct = (v: number | null) => (v === null || Number.isNaN(v) ? '–' : `${(100 * v).toFixed(2)}%`);

export function terminalReporter(out: (line: string) => void, stream: NodeJS.WriteStream = process.stderr): (run: string, e: TrainEvent) => void {
  let bar: Progress | null = null;
  let epochs = 0;
  let step = 0;
  return (run, e) => {
    switch (e.type) {
      case 'start':
        epochs = e.config.epochs;
        out(
          `${run}: ${e.model} (${e.parameters.toLocaleString('en')} parameters), weights ${e.config.quant.weights}, activations ${e.config.quant.activations}, ` +
            `${e.config.optimizer} lr ${e.config.learningRate}, ${epochs} epochs of ${e.stepsPerEpoch} steps, batch ${e.config.batchSize}, backend ${e.backend}` +
            (e.startEpoch > 0 || (e.startStep ?? 0) > 0
              ? `, resuming after epoch ${e.startEpoch}${e.startStep ? ` at step ${e.startStep}` : ''}`
              : ''),
        );
        if (e.changes.length > 0) out(`${run}: resumed with changed settings (recorded in config.json): ${e.changes.map(formatChange).join(', ')}`);
        break;
      case 'step': {
        if (bar === null || e.step === 1) bar = progressBar(`${run} epoch ${e.epoch}/${epochs}`, e.stepsPerEpoch, stream);
        step = e.step;
        const bits = [
          e.meanBits.weights === null ? '' : `w ${e.meanBits.weights.toFixed(2)}`,
          e.meanBits.activations === null ? '' : `a ${e.meanBits.activations.toFixed(2)}`,
        ]
          .filter(Boolean)
          .join(' ');
        bar.update(
          e.step,
          `loss ${e.loss.toFixed(4)} err ${pct(e.error)}${bits ? ` bits ${bits}` : ''} lr ${e.learningRate.toPrecision(3)} ${e.imagesPerSecond.toFixed(1)} img/s`,
        );
        break;
      }
      case 'epoch': {
        bar?.finish(`${e.metrics.steps} steps`);
        bar = null;
        const m = e.metrics;
        const bits = m.bitwidths.filter((b) => b.role === 'weight').map((b) => b.bits);
        const meanBits = bits.length ? (bits.reduce((a, b) => a + b, 0) / bits.length).toFixed(2) : '32';
        out(
          `${run} epoch ${m.epoch}/${epochs}: loss ${m.loss.toFixed(4)} · train ${pct(m.trainError)} · test ${pct(m.testError)} (best ${pct(m.bestTestError)}) · ` +
            `weights ${m.weightKB.toFixed(1)} KB (mean ${meanBits} bits) · activations max ${m.activationMaxKB.toFixed(1)} / sum ${m.activationSumKB.toFixed(1)} KB` +
            `${m.constraintsMet ? '' : ' (over target)'} · ${m.seconds.toFixed(1)} s, ${m.imagesPerSecond.toFixed(1)} img/s`,
        );
        break;
      }
      case 'end':
        // An interrupted epoch's bar stays at the step where it stopped.
        bar?.finish(e.result.interrupted ? 'interrupted' : 'done', e.result.interrupted ? step : undefined);
        bar = null;
        break;
    }
  };
}

/** The final summary: totals, then bits and kilobytes per layer. */
export function trainingSummary(run: string, result: TrainResult): string {
  const lines = [
    `${run}: ${result.epochsCompleted} epochs${result.interrupted ? ' (interrupted)' : ''}; best test error ${pct(result.bestTestError)}, ` +
      `final ${pct(result.finalTestError)}; weights ${result.memory.weightsKB.toFixed(2)} KB, activations max ${result.memory.activationsMaxKB.toFixed(2)} KB, ` +
      `sum ${result.memory.activationsSumKB.toFixed(2)} KB${result.outDir ? `; files in ${result.outDir}` : ''}`,
  ];
  const layers = new Map<string, { weight?: number; bias?: number; activation?: number; kb: number }>();
  for (const l of result.memory.layers) {
    const row = layers.get(l.layer) ?? { kb: 0 };
    row[l.role] = l.bits;
    if (l.role !== 'activation') row.kb += l.kilobytes;
    layers.set(l.layer, row);
  }
  const rows = [...layers].map(([layer, r]) => [
    layer,
    r.weight?.toString() ?? '',
    r.bias?.toString() ?? '',
    r.activation?.toString() ?? '',
    r.kb ? r.kb.toFixed(2) : '',
  ]);
  lines.push(formatTable(['layer', 'weight bits', 'bias bits', 'activation bits', 'weight KB'], rows));
  return lines.join('\n');
}
