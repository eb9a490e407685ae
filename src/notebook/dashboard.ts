/**
 * The training dashboard: the live training display grown into widgets, with Stop, Pause / Resume and a
 * learning-rate factor that act at the next step boundary of the run (through `train`'s signal and control).
 *
 *     const dash = mixprec.trainingDashboard();
 *     const result = await mixprec.train({ config, train, test, outDir: null, ...dash.trainOptions });
 */
import type { TrainEvent, TrainingControl } from '../train/trainer';
import { escapeHtml } from '../util/html';
import { display } from './display';
import { trainingHtml, trainingRecorder, trainingText } from './widget';
import { Button, FloatLogSlider, HBox, HTML, Label, VBox } from './widgets/controls';

export interface TrainingDashboardOptions {
  title?: string;
  /** At most this many redraws per second during an epoch (epoch ends and the end always redraw). */
  maxUpdatesPerSecond?: number;
  /** Show the dashboard now (default true); false leaves it to the caller (`display(dash.widget)`). */
  show?: boolean;
}

export interface TrainingDashboard {
  /** The whole dashboard: buttons, the learning-rate factor, the live figures. */
  readonly widget: VBox;
  readonly stopButton: Button;
  readonly pauseButton: Button;
  /** Multiplies the schedule's learning rate from the next step on (1: as configured). */
  readonly learningRateFactor: FloatLogSlider;
  /** Spread into `train({ … })`: the event handler, the stop signal and the step-boundary control. */
  readonly trainOptions: { onEvent: (event: TrainEvent) => void; signal: AbortSignal; control: TrainingControl };
  /** Whether the run is paused now. */
  readonly paused: boolean;
  /** What Stop does: the run ends at the next step boundary, its model usable. */
  stop(): void;
  pause(): void;
  resume(): void;
}

/** A dashboard for one training run (shown at once unless `show: false`). */
export function trainingDashboard(options: TrainingDashboardOptions = {}): TrainingDashboard {
  const title = options.title ?? 'training';
  const stopper = new AbortController();
  const stopButton = new Button({ description: 'Stop', icon: 'stop', buttonStyle: 'danger', tooltip: 'end the run at the next step' });
  const pauseButton = new Button({ description: 'Pause', icon: 'pause', tooltip: 'wait at the next step boundary' });
  const learningRateFactor = new FloatLogSlider({ value: 1, base: 2, min: -6, max: 3, step: 0.5, description: 'lr ×', readoutFormat: '.3g' });
  const view = new HTML({ value: `<div>${escapeHtml(title)} — starting</div>` });
  // The status line as text too: what a viewer without widgets (a saved notebook's static state) can still read.
  const status = new Label({ value: `${title} — starting` });
  const widget = new VBox([new HBox([stopButton, pauseButton, learningRateFactor]), status, view]);

  let paused = false;
  let wake: (() => void) | null = null;
  const recorder = trainingRecorder(options, async (snapshot) => {
    view.value = await trainingHtml(snapshot);
    status.value = trainingText(snapshot);
  });

  const setPaused = (p: boolean) => {
    paused = p;
    pauseButton.description = p ? 'Resume' : 'Pause';
    pauseButton.icon = p ? 'play' : 'pause';
    if (!p) {
      wake?.();
      wake = null;
    }
  };
  const dash: TrainingDashboard = {
    widget,
    stopButton,
    pauseButton,
    learningRateFactor,
    get paused() {
      return paused;
    },
    stop() {
      if (stopper.signal.aborted) return;
      stopper.abort();
      stopButton.disabled = true;
      pauseButton.disabled = true;
      setPaused(false);
      recorder.setStatus('stopping at the next step');
    },
    pause() {
      if (stopper.signal.aborted || paused) return;
      setPaused(true);
      recorder.setStatus('paused (at a step boundary)');
    },
    resume() {
      if (!paused) return;
      setPaused(false);
      recorder.setStatus('training');
    },
    trainOptions: {
      onEvent: (e) => {
        recorder.handle(e);
        if (e.type === 'end') {
          stopButton.disabled = true;
          pauseButton.disabled = true;
          learningRateFactor.disabled = true;
        }
      },
      signal: stopper.signal,
      control: {
        beforeStep: () => (paused && !stopper.signal.aborted ? new Promise<void>((resolve) => (wake = resolve)) : undefined),
        learningRate: (scheduled) => scheduled * learningRateFactor.value,
      },
    },
  };
  stopButton.onClick(() => dash.stop());
  pauseButton.onClick(() => (paused ? dash.resume() : dash.pause()));
  if (options.show !== false) void display(widget);
  return dash;
}
