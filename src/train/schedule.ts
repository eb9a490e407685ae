/** Learning rate per epoch. */
import type { LearningRateSchedule } from './config';

/** The learning rate of epoch `epoch` (0-based) of `epochs`: for 'step', milestones are fractions of the run. */
export function learningRateAt(schedule: LearningRateSchedule, base: number, epoch: number, epochs: number): number {
  switch (schedule.kind) {
    case 'constant':
      return base;
    case 'step': {
      const passed = schedule.milestones.filter((m) => epoch >= Math.round(m * epochs)).length;
      return base * schedule.factor ** passed;
    }
    case 'cosine':
      return base * (schedule.minFactor + (1 - schedule.minFactor) * 0.5 * (1 + Math.cos((Math.PI * epoch) / epochs)));
  }
}
