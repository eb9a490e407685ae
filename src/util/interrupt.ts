/**
 * The ambient interrupt signal: a host (the Jupyter kernel) sets one per executing cell, and long-running library
 * work (training) stops at its next step boundary when it fires, without the cell having to pass it along.
 */
let ambient: AbortSignal | undefined;

export function setAmbientSignal(signal: AbortSignal | undefined): void {
  ambient = signal;
}

export function ambientSignal(): AbortSignal | undefined {
  return ambient;
}
