/**
 * Starting a kernel the way Jupyter does: find its kernelspec (the mixprec kernel is known even when not installed),
 * write a fresh connection file, spawn the spec's argv with {connection_file} filled in, connect a client and wait
 * until it answers. The handle detects the process exiting, and interrupts, restarts and shuts down by the spec's
 * interrupt mode.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { KernelClient } from '../jupyter/client';
import type { JupyterMessage } from '../jupyter/message';
import { createConnectionFile, type ConnectionInfo } from '../jupyter/connection';
import { findKernelSpecs, type FoundKernelSpec, type KernelSpec } from '../jupyter/kernelspec';
import { DEFAULT_KERNEL_NAME, mixprecKernelSpec } from '../kernel/install';

export class KernelNotFoundError extends Error {
  constructor(
    readonly kernel: string,
    available: string[],
  ) {
    super(`no kernel named "${kernel}" (kernelspecs found: ${available.join(', ') || 'none'}; the mixprec kernel is always available as "mixprec")`);
    this.name = 'KernelNotFoundError';
  }
}

/** The kernelspec of `name`: installed ones first (Jupyter's search order), then mixprec's own. */
export function resolveKernelSpec(name: string): FoundKernelSpec {
  const specs = findKernelSpecs();
  const found = specs.get(name.toLowerCase());
  if (found) return found;
  if (name.toLowerCase() === DEFAULT_KERNEL_NAME) return { name: DEFAULT_KERNEL_NAME, resourceDir: '', spec: mixprecKernelSpec() };
  throw new KernelNotFoundError(
    name,
    [...specs.keys(), DEFAULT_KERNEL_NAME].filter((v, i, a) => a.indexOf(v) === i),
  );
}

export interface LaunchOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  startupTimeoutMs?: number;
  /** Where the kernel's stderr goes (default: inherited). */
  stderr?: 'inherit' | 'ignore' | 'pipe';
  /** With stderr 'pipe': each line the kernel writes there. */
  onStderr?: (line: string) => void;
}

export interface RunningKernel {
  name: string;
  spec: KernelSpec;
  resourceDir: string;
  /** The kernel's working folder. */
  cwd: string;
  info: ConnectionInfo;
  client: KernelClient;
  /** Its kernel_info_reply (language_info, banner, implementation). */
  kernelInfo: JupyterMessage;
  process: ChildProcess;
  /** Resolves with the exit code (or signal) when the kernel process ends. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  isAlive(): boolean;
  /** One heartbeat round trip: false when no echo within `timeoutMs`. */
  heartbeat(timeoutMs?: number): Promise<boolean>;
  interrupt(): Promise<void>;
  /** Asks the kernel to shut down, then kills it if it does not exit in time. */
  shutdown(): Promise<void>;
  kill(): void;
}

function fill(argv: string[], connectionFile: string, resourceDir: string): string[] {
  return argv.map((a) => a.replaceAll('{connection_file}', connectionFile).replaceAll('{resource_dir}', resourceDir));
}

/** How a kernel reports that a port it was given is taken (ZeroMQ's EADDRINUSE, in Node and in Python kernels). */
const PORT_TAKEN = /address already in use|EADDRINUSE/i;
/** Attempts when a kernel exits at start because one of its ports was taken between choosing and binding it. */
const PORT_ATTEMPTS = 3;

/**
 * Starts the kernel named `kernel` (or given as a spec) and resolves once it answers kernel_info. Ports are chosen
 * free, but another process can take one before the kernel binds it (an outgoing connection's ephemeral port, say):
 * a kernel that says so at start is stopped and started again on fresh ports, whether it exits (mixprec's) or stays
 * up half-started (Debian's ipykernel 6: its other threads keep the process alive after the failed bind).
 */
export async function launchKernel(kernel: string | FoundKernelSpec, o: LaunchOptions = {}): Promise<RunningKernel> {
  const found = typeof kernel === 'string' ? resolveKernelSpec(kernel) : kernel;
  for (let attempt = 1; ; attempt++) {
    try {
      return await launchOnce(found, o);
    } catch (err) {
      if (!(err instanceof KernelStartError) || !err.portTaken || attempt === PORT_ATTEMPTS) throw err;
    }
  }
}

class KernelStartError extends Error {
  constructor(
    message: string,
    readonly portTaken: boolean,
  ) {
    super(message);
    this.name = 'KernelStartError';
  }
}

async function launchOnce(found: FoundKernelSpec, o: LaunchOptions): Promise<RunningKernel> {
  const name = found.name;
  const runtime = fs.mkdtempSync(path.join(os.tmpdir(), 'mixprec-kernel-'));
  const connectionFile = path.join(runtime, 'kernel.json');
  const info = await createConnectionFile(connectionFile, found.name);
  const [command, ...args] = fill(found.spec.argv, connectionFile, found.resourceDir);
  const cwd = o.cwd ?? process.cwd();
  const destination = o.stderr ?? 'inherit';
  const child = spawn(command!, args, {
    cwd,
    // JPY_PARENT_PID as jupyter_client sets it: kernels that poll their parent exit when this process dies.
    env: { ...process.env, ...o.env, ...found.spec.env, JPY_PARENT_PID: String(process.pid) },
    // stderr is always read here, whatever its destination, to tell why a kernel that exits at start did so.
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let startupStderr = '';
  let starting = true;
  let partial = '';
  let reportPortTaken: (() => void) | undefined;
  const portTakenReported = new Promise<never>((_, reject) => {
    reportPortTaken = () => reject(new Error('it reported that one of its ports is already in use'));
  });
  portTakenReported.catch(() => undefined);
  child.stderr!.on('error', () => undefined);
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    if (starting) {
      startupStderr = (startupStderr + chunk).slice(-4000);
      if (PORT_TAKEN.test(startupStderr)) reportPortTaken?.();
    }
    if (destination === 'inherit') process.stderr.write(chunk);
    else if (destination === 'pipe' && o.onStderr) {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop()!;
      for (const line of lines) o.onStderr(line);
    }
  });
  const stderrClosed = new Promise<void>((resolve) => child.stderr!.on('close', resolve));
  child.stderr!.on('end', () => {
    if (destination === 'pipe' && o.onStderr && partial) o.onStderr(partial);
  });
  let alive = true;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => {
      alive = false;
      fs.rmSync(runtime, { recursive: true, force: true });
      resolve({ code, signal });
    });
    child.on('error', () => {
      alive = false;
      resolve({ code: null, signal: null });
    });
  });
  const spawnError = new Promise<never>((_, reject) =>
    child.on('error', (err) => reject(new Error(`cannot start kernel "${name}" (${command}): ${err.message}`))),
  );
  spawnError.catch(() => undefined);
  const client = new KernelClient(info);
  await client.connect();
  let kernelInfo: JupyterMessage;
  try {
    const exitedFirst = exited.then((): never => {
      throw new Error('the kernel exited before it answered');
    });
    exitedFirst.catch(() => undefined);
    kernelInfo = await Promise.race([client.waitForReady(o.startupTimeoutMs ?? 60_000, () => alive), spawnError, exitedFirst, portTakenReported]);
  } catch (err) {
    client.close();
    const diedOnItsOwn = !alive;
    child.kill('SIGKILL');
    const { code, signal } = await exited;
    // Let the last of its stderr arrive before deciding why it exited (a child of the kernel may hold it open: 1 s at most).
    await Promise.race([stderrClosed, new Promise((r) => setTimeout(r, 1000).unref())]);
    throw new KernelStartError(
      `kernel "${name}" did not start: ${(err as Error).message}${diedOnItsOwn ? ` (exit ${code ?? signal})` : ''}`,
      PORT_TAKEN.test(startupStderr),
    );
  }
  starting = false;
  startupStderr = '';
  return {
    name: found.name,
    spec: found.spec,
    resourceDir: found.resourceDir,
    cwd,
    info,
    client,
    kernelInfo,
    process: child,
    exited,
    isAlive: () => alive,
    heartbeat: (timeoutMs = 2000) => client.heartbeat(timeoutMs),
    async interrupt() {
      if (found.spec.interrupt_mode === 'message') await client.request('control', 'interrupt_request', {}, 10_000);
      else child.kill('SIGINT');
    },
    async shutdown() {
      if (alive) {
        try {
          await client.request('control', 'shutdown_request', { restart: false }, 5000);
        } catch {
          // it may be gone already
        }
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
      client.close();
    },
    kill() {
      child.kill('SIGKILL');
      client.close();
    },
  };
}
