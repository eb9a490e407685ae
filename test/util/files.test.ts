/**
 * Output files and folders: atomic writes clean up what killed writers left (only theirs: a live process's temporary
 * file stays), and a folder that cannot be created because a file is in the way is one clear error naming it.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ensureDir, processAlive, writeFileAtomic } from '../../src/util/files';
import { deadPid } from '../helpers/processes';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mixprec-files-'));

describe('writeFileAtomic', () => {
  it('removes the temporary files of its target that dead writers left, and nothing else', () => {
    const dir = path.join(root, 'stale');
    fs.mkdirSync(dir);
    const dead = deadPid();
    assert.equal(processAlive(dead), false, `pid ${dead} still runs`);
    const left = [
      `checkpoint.safetensors.tmp-${dead}-1700000000000`, // a killed writer's: removed
      `checkpoint.safetensors.tmp-${process.pid}-1700000000001`, // a live writer's (this process): kept
      `metrics.jsonl.tmp-${dead}-1700000000002`, // another target's: not this write's business
      'notes.txt',
    ];
    for (const f of left) fs.writeFileSync(path.join(dir, f), 'torn');
    writeFileAtomic(path.join(dir, 'checkpoint.safetensors'), 'whole');
    assert.deepEqual(fs.readdirSync(dir).sort(), ['checkpoint.safetensors', ...left.slice(1)].sort());
    assert.equal(fs.readFileSync(path.join(dir, 'checkpoint.safetensors'), 'utf8'), 'whole');
  });

  it('tells alive from dead processes, counting one it may not signal as alive', () => {
    assert.equal(processAlive(process.pid), true);
    assert.equal(processAlive(1), true, 'pid 1 (EPERM for a normal user, or ours as root) is alive');
    assert.equal(processAlive(deadPid()), false);
  });
});

describe('ensureDir', () => {
  it('creates a folder and its parents, and names the file in the way when one is', () => {
    ensureDir(path.join(root, 'a', 'b'));
    assert.ok(fs.statSync(path.join(root, 'a', 'b')).isDirectory());
    const file = path.join(root, 'somefile.txt');
    fs.writeFileSync(file, 'text');
    assert.throws(() => ensureDir(path.join(file, 'run')), { message: `cannot create the folder ${file}/run: ${file} is a file, not a folder` });
    assert.throws(() => ensureDir(path.join(file, 'run', 'deeper')), {
      message: `cannot create the folder ${file}/run/deeper: ${file} is a file, not a folder`,
    });
    assert.throws(() => ensureDir(file), { message: `cannot create the folder ${file}: it is a file` });
    assert.throws(() => writeFileAtomic(path.join(file, 'out.json'), '{}'), { message: `cannot create the folder ${file}: it is a file` });
  });
});
