/** The kernel process, as a kernelspec starts it: `node dist/kernel/main.js CONNECTION_FILE`. */
import * as fs from 'node:fs';
import { readConnectionFile } from '../jupyter/connection';
import { Kernel } from './kernel';

const file = process.argv[2];
if (file === undefined) {
  process.stderr.write('usage: node main.js CONNECTION_FILE (the mixprec kernel is started by Jupyter from its kernelspec)\n');
  process.exit(2);
}
// Like ipykernel's parent poller: a kernel whose launcher died (kill -9 of a runner) exits instead of lingering.
const parent = Number(process.env.JPY_PARENT_PID);
if (Number.isInteger(parent) && parent > 1 && process.ppid === parent) {
  setInterval(() => {
    if (process.ppid !== parent) process.exit(1);
  }, 1000).unref();
}

new Kernel(readConnectionFile(file)).start().catch((err: Error) => {
  // fs.writeSync: the kernel may already route process.stderr to IOPub.
  fs.writeSync(2, `mixprec kernel failed to start: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
