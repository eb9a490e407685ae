/** Processes for tests of what killed processes leave behind. */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

/** The pid of a process that has exited (spawnSync waits for it and reaps it). */
export function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', ''], { stdio: 'ignore' });
  assert.equal(r.status, 0);
  return r.pid!;
}
