/**
 * Output files and folders. Writing files so that a reader never sees half a file: write a temporary sibling
 * `${file}.tmp-<pid>-<n>`, then rename over the target; before that, remove the temporaries of the same target that
 * writers which have since died left behind (never a live process's, never another target's). Folders are created
 * with their parents, and a file in the way is one error naming it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Whether a process with this pid runs: signal 0 probes without signalling; EPERM means it runs as someone else. */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const TMP_NAME = /^(\d+)-(\d+)$/;

/** Removes the siblings `${file}.tmp-<pid>-<n>` that writers no longer alive left (a killed writer's torn file). */
export function removeStaleTemporaries(file: string): void {
  const dir = path.dirname(path.resolve(file));
  const prefix = `${path.basename(file)}.tmp-`;
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return; // no folder yet: nothing was left in it
    throw err;
  }
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const m = TMP_NAME.exec(name.slice(prefix.length));
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || processAlive(pid)) continue;
    fs.rmSync(path.join(dir, name), { force: true });
  }
}

/**
 * Throws when `dir` cannot be created because a file is in the way, creating nothing: for checking an output folder
 * before any work starts. The messages are those of {@link ensureDir}.
 */
export function checkDirCreatable(dir: string): void {
  for (let p = dir; ; p = path.dirname(p)) {
    let st: fs.Stats | undefined;
    try {
      st = fs.statSync(p);
    } catch {
      st = undefined; // missing (or unreadable): mkdir will say
    }
    if (st && !st.isDirectory()) {
      throw new Error(p === dir ? `cannot create the folder ${dir}: it is a file` : `cannot create the folder ${dir}: ${p} is a file, not a folder`);
    }
    if (st || path.dirname(p) === p) return;
  }
}

/**
 * Creates `dir` and its parents. Throws `cannot create the folder <dir>: <file> is a file, not a folder` when a file
 * stands where one of its parents should be, and `cannot create the folder <dir>: it is a file` when `dir` is a file.
 */
export function ensureDir(dir: string): void {
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' || code === 'ENOTDIR') checkDirCreatable(dir);
    throw err;
  }
}

let sequence = 0;

export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  ensureDir(path.dirname(file));
  removeStaleTemporaries(file);
  const tmp = `${file}.tmp-${process.pid}-${Date.now()}${String(sequence++ % 1000).padStart(3, '0')}`;
  try {
    fs.writeFileSync(tmp, data);
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}
