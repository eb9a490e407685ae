/**
 * The notebook API without a kernel: a sink that records what display() and the live training widget publish.
 * The widget draws one output, updated in place, with the charts of plot/training.ts.
 */
import { describe, it, beforeEach, afterEach } from 'node:test';
import * as assert from 'node:assert/strict';
import { display, setDisplaySink, trainingWidget, type MimeBundle } from '../../src/notebook';
import { DEFAULT_TRAIN_CONFIG } from '../../src/train/config';
import type { EpochMetrics, TrainEvent, TrainSummary } from '../../src/train/trainer';

interface Published {
  msgType: string;
  content: { data?: MimeBundle; transient?: { display_id?: string } };
}

let published: Published[] = [];
let pending: Promise<unknown>[] = [];

beforeEach(() => {
  published = [];
  pending = [];
  setDisplaySink({ publish: (msgType, content) => published.push({ msgType, content }), track: (work) => pending.push(work) });
});
afterEach(() => setDisplaySink(null));

async function settled(): Promise<void> {
  while (pending.length > 0) await Promise.all(pending.splice(0));
}

const metrics = (epoch: number): EpochMetrics =>
  ({
    epoch,
    learningRate: 0.01,
    loss: 1 / epoch,
    crossEntropy: 1 / epoch,
    weightPenalty: 0,
    activationPenalty: 0,
    trainError: 0.3 / epoch,
    testError: 0.4 / epoch,
    testLoss: 1.2 / epoch,
    bestTestError: 0.4 / epoch,
    weightKB: 12.5,
    activationMaxKB: 3,
    activationSumKB: 9,
    bitwidths: [
      { layer: 'conv1', role: 'weight', bits: 4 },
      { layer: 'conv1', role: 'activation', bits: 8 },
      { layer: 'fc', role: 'weight', bits: 2 },
    ],
    constraintsMet: true,
    seconds: 1,
    imagesPerSecond: 100,
    steps: 3,
  }) as EpochMetrics;

describe('notebook display', () => {
  it('draws a progress bar with the shared bar text', () => {
    const p = display.progress(4, 'runs');
    p.done('finished', 2);
    const text = published.at(-1)!.content.data!['text/plain'] as string;
    assert.match(text, /^runs █{15}░{15} 2\/4 \d+ s finished$/);
    assert.match(published.at(-1)!.content.data!['text/html'] as string, /<progress value="2" max="4"/);
  });

  it('escapes table cells', () => {
    display.table([{ a: '<b>&"\'' }]);
    assert.match(published.at(-1)!.content.data!['text/html'] as string, /<td style="text-align:left">&lt;b&gt;&amp;&quot;&#39;<\/td>/);
  });

  it('draws a training run into one output, with the training curves and bitwidths of plot/training.ts', async () => {
    const onEvent = trainingWidget({ title: 'run <1>', maxUpdatesPerSecond: 1e6 });
    const config = { ...DEFAULT_TRAIN_CONFIG, name: 'U3-run', epochs: 2 };
    const events: TrainEvent[] = [
      { type: 'start', config, model: 'resnet20', parameters: 1000, backend: 'cpu', startEpoch: 0, stepsPerEpoch: 3, changes: [] },
      ...[1, 2].flatMap((epoch): TrainEvent[] => [
        ...[1, 2, 3].map((step): TrainEvent => ({
          type: 'step',
          epoch,
          step,
          stepsPerEpoch: 3,
          loss: 2 / (epoch * step),
          error: 0.5,
          learningRate: 0.01,
          imagesPerSecond: 50,
          meanBits: { weights: 4, activations: 8 },
        })),
        { type: 'epoch', metrics: metrics(epoch) },
      ]),
      { type: 'end', result: { interrupted: false } as TrainSummary },
    ];
    for (const e of events) onEvent(e);
    await settled();
    assert.equal(published[0]!.msgType, 'display_data');
    const id = published[0]!.content.transient?.display_id;
    assert.ok(published.slice(1).every((m) => m.msgType === 'update_display_data' && m.content.transient?.display_id === id));
    const last = published.at(-1)!.content.data!;
    const html = last['text/html'] as string;
    assert.ok(html.includes('<b>run &lt;1&gt;</b> — done'), 'the title, escaped, and the state');
    assert.equal(html.match(/<svg/g)?.length, 2, 'two charts');
    assert.ok(html.includes('>training curves<'), 'the training curves chart');
    assert.ok(html.includes('>bitwidths after epoch 2<'), 'the bitwidth chart of the last epoch');
    // The panels of trainingCurvesPlot (checked by title: a failed match on the whole page would print 30 KB of SVG).
    const titles = [...html.matchAll(/aria-label="Title text '([^']*)'/g)].map((m) => m[1]);
    for (const panel of ['loss', 'error: train (running, solid), test (dashed, points)'])
      assert.ok(titles.includes(panel), `panel "${panel}" among ${JSON.stringify(titles)}`);
    assert.match(last['text/plain'] as string, /^run <1>: done, epoch 2\/2, step 3\/3, loss 0\.3333, test error 20\.00%/);
  });
});
