/**
 * Errors in what the caller asked for (a flag, a config field, a parameter, a preset name), as opposed to failures
 * while doing it. The CLI exits 2 for every error of this type and 1 for any other; the library's input errors
 * (TrainConfigError, PresetLookupError, ParameterError, …) extend it, so the mapping lives in one place.
 */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
