/** The kernel process, as a kernelspec starts it: `node dist/kernel/main.js CONNECTION_FILE`. */
import { readConnectionFile } from '../jupyter/connection';
import { Kernel } from './kernel';

const file = process.argv[2];
if (file === undefined) {
  process.stderr.write('usage: node main.js CONNECTION_FILE (the mixprec kernel is started by Jupyter from its kernelspec)\n');
  process.exit(2);
}
new Kernel(readConnectionFile(file)).start().catch((err: Error) => {
  process.stderr.write(`mixprec kernel failed to start: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
