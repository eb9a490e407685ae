/**
 * Kernel specs as Jupyter finds them (jupyter_core.paths.jupyter_path, `jupyter --paths` order): JUPYTER_PATH entries,
 * the user data dir (JUPYTER_DATA_DIR or ~/.local/share/jupyter), the environment prefix, then /usr/local/share/jupyter
 * and /usr/share/jupyter; `<dir>/kernels/<name>/kernel.json`, the first occurrence of a name wins.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';

export interface KernelSpec {
  argv: string[];
  display_name: string;
  language: string;
  interrupt_mode?: 'signal' | 'message';
  env?: Record<string, string>;
  metadata?: Record<string, unknown>;
}

export interface FoundKernelSpec {
  name: string;
  /** The folder holding kernel.json (and the logos). */
  resourceDir: string;
  spec: KernelSpec;
}

export function userDataDir(): string {
  if (process.env.JUPYTER_DATA_DIR) return process.env.JUPYTER_DATA_DIR;
  const xdg = process.env.XDG_DATA_HOME;
  return path.join(xdg && xdg !== '' ? xdg : path.join(os.homedir(), '.local', 'share'), 'jupyter');
}

let cachedPrefix: string | undefined;

/** The prefix `--sys-prefix` means: the active virtualenv / conda env, else the python3 on PATH's sys.prefix. */
export function sysPrefix(): string {
  if (cachedPrefix !== undefined) return cachedPrefix;
  const env = process.env.VIRTUAL_ENV || process.env.CONDA_PREFIX;
  if (env) return (cachedPrefix = env);
  const r = spawnSync('python3', ['-c', 'import sys; print(sys.prefix)'], { encoding: 'utf8', timeout: 5000 });
  cachedPrefix = r.status === 0 && r.stdout.trim() !== '' ? r.stdout.trim() : '/usr/local';
  return cachedPrefix;
}

/** The data directories searched for kernels, highest priority first. */
export function jupyterDataPath(): string[] {
  const dirs: string[] = [];
  for (const p of (process.env.JUPYTER_PATH ?? '').split(path.delimiter)) if (p) dirs.push(p);
  dirs.push(userDataDir());
  const env = process.env.VIRTUAL_ENV || process.env.CONDA_PREFIX;
  if (env) dirs.push(path.join(env, 'share', 'jupyter'));
  dirs.push('/usr/local/share/jupyter', '/usr/share/jupyter');
  return [...new Set(dirs.map((d) => path.resolve(d)))];
}

function readSpec(dir: string): KernelSpec | null {
  const file = path.join(dir, 'kernel.json');
  if (!fs.existsSync(file)) return null;
  let spec: KernelSpec;
  try {
    spec = JSON.parse(fs.readFileSync(file, 'utf8')) as KernelSpec;
  } catch (err) {
    throw new Error(`${file}: not valid JSON (${(err as Error).message})`);
  }
  if (!Array.isArray(spec.argv) || spec.argv.length === 0 || spec.argv.some((a) => typeof a !== 'string')) {
    throw new Error(`${file}: argv must be a non-empty list of strings`);
  }
  return spec;
}

/** Every kernel spec on the data path, the first occurrence of each name. */
export function findKernelSpecs(): Map<string, FoundKernelSpec> {
  const found = new Map<string, FoundKernelSpec>();
  for (const dir of jupyterDataPath()) {
    const kernels = path.join(dir, 'kernels');
    let names: string[];
    try {
      names = fs.readdirSync(kernels);
    } catch {
      continue;
    }
    for (const name of names.sort()) {
      const key = name.toLowerCase();
      if (found.has(key)) continue;
      const spec = readSpec(path.join(kernels, name));
      if (spec !== null) found.set(key, { name: key, resourceDir: path.join(kernels, name), spec });
    }
  }
  return found;
}

export type InstallTarget = { kind: 'user' } | { kind: 'sys-prefix' } | { kind: 'prefix'; prefix: string };

export function kernelsDir(target: InstallTarget): string {
  switch (target.kind) {
    case 'user':
      return path.join(userDataDir(), 'kernels');
    case 'sys-prefix':
      return path.join(sysPrefix(), 'share', 'jupyter', 'kernels');
    case 'prefix':
      return path.join(path.resolve(target.prefix), 'share', 'jupyter', 'kernels');
  }
}
