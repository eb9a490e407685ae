/**
 * Runs notebook cells: TypeScript through tslab's converter (type-checked against the previous cells' declarations
 * and mixprec's preloaded globals) in a compiler worker, which starts and warms up while the kernel loads the
 * library, then executed in this process with the previous cells' locals; the value of a final
 * expression is returned, errors are thrown with structure (compile diagnostics, runtime errors, interrupts) instead
 * of printed. ESM-only packages (vega, vega-lite 6) are imported with a real import() before the cell runs, so plain
 * `import … from` works for them in cells.
 */
import * as fs from 'node:fs';
import Module from 'node:module';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import vm from 'node:vm';
import type { Worker } from 'node:worker_threads';
import { PACKAGE_ROOT } from '../util/package';
import { startWorker } from '../util/worker';
import type { CompilerInit, CompilerRequest, CompilerResponse } from './compiler_protocol';
import type { ConvertResult, Diagnostic, QuickInfo } from './tslab';

/** A cell that does not type-check; `diagnostics` are formatted `line:col - message`. */
export class CompileError extends Error {
  constructor(readonly diagnostics: readonly string[]) {
    super(diagnostics.join('\n'));
    this.name = 'CompileError';
  }
}

/** The cell was interrupted (SIGINT during synchronous code, or an interrupt request while it awaited). */
export class InterruptedError extends Error {
  constructor(message = 'Interrupted') {
    super(message);
    this.name = 'KeyboardInterrupt';
  }
}

export interface ExecutionResult {
  /** Whether the cell ended with an expression whose value is not undefined. */
  hasValue: boolean;
  value?: unknown;
}

export interface Global {
  name: string;
  value: unknown;
  /** TypeScript declaration of the global, e.g. `declare const tf: typeof import("…")`. */
  declaration: string;
}

const ESM_ERRORS = new Set(['ERR_REQUIRE_ESM', 'ERR_REQUIRE_ASYNC_MODULE']);

function formatDiagnostic(d: Diagnostic): string {
  return `${d.fileName ? `${d.fileName} ` : ''}${d.start.line + 1}:${d.start.character + 1} - ${d.messageText}`;
}

type Request = CompilerRequest extends infer R ? (R extends CompilerRequest ? Omit<R, 'id'> : never) : never;

/** The compiler worker, as async calls. */
class CompilerClient {
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  private nextId = 1;
  /** Resolves with the warm-up time once the worker has type-checked the preloaded globals. */
  readonly ready: Promise<number>;

  constructor(init: CompilerInit) {
    this.worker = startWorker(__filename, 'compiler_worker', { workerData: init });
    let onReady!: (ms: number) => void;
    let onFail!: (e: Error) => void;
    this.ready = new Promise((resolve, reject) => {
      onReady = resolve;
      onFail = reject;
    });
    this.ready.catch(() => undefined);
    this.worker.on('message', (msg: CompilerResponse) => {
      if ('ready' in msg) return onReady(msg.warmUpMs);
      const waiter = this.pending.get(msg.id);
      this.pending.delete(msg.id);
      if (msg.ok) waiter?.resolve(msg.result);
      else waiter?.reject(new Error(`TypeScript compiler failed: ${msg.error}`));
    });
    this.worker.on('error', (err) => {
      onFail(err);
      for (const w of this.pending.values()) w.reject(err);
      this.pending.clear();
    });
  }

  call<T>(req: Request): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ ...req, id });
    });
  }

  close(): Promise<number> {
    return this.worker.terminate();
  }
}

export class CellExecutor {
  private readonly compiler: CompilerClient;
  private prevDecl = '';
  private readonly locals: Record<string, unknown>;
  private readonly esmCache = new Map<string, unknown>();
  private readonly sideOutputs = new Map<string, string>();
  private readonly sideModules = new Map<string, Module>();
  private readonly baseRequire: NodeJS.Require;
  private rejectInterrupt: ((e: Error) => void) | undefined;

  constructor(
    readonly rootDir: string,
    private readonly globals: readonly Global[],
  ) {
    this.compiler = new CompilerClient({ rootDir, compilerOptions: compilerOptions(rootDir), warmUpDeclarations: this.prelude() });
    this.locals = this.createLocals();
    this.baseRequire = Module.createRequire(path.join(rootDir, '__cell__.js'));
    for (const g of globals) this.locals[g.name] = g.value;
    vm.runInThisContext('(x) => { globalThis.__mixprec_cell__ = x; }')({
      exports: this.locals,
      require: this.wrappedRequire(this.baseRequire, rootDir),
    });
  }

  /** Resolves with the compiler's warm-up time (ms) once it can type-check cells. */
  ready(): Promise<number> {
    return this.compiler.ready;
  }

  /** Declarations of the preloaded globals a cell has not redeclared. */
  private prelude(): string {
    const redeclared = (name: string) => new RegExp(`\\b(const|let|var|function|class|enum|namespace)\\s+${name}\\b`).test(this.prevDecl);
    return (
      this.globals
        .filter((g) => !redeclared(g.name))
        .map((g) => g.declaration)
        .join('\n') + '\n'
    );
  }

  private createLocals(): Record<string, unknown> {
    const target: Record<string, unknown> = {};
    // TypeScript emits named imports as defineProperty getters; locals stay plain writable values.
    return new Proxy(target, {
      defineProperty: (_t, prop, attrs) => {
        if (prop === '__esModule') return true;
        target[prop as string] = attrs.get ? attrs.get() : attrs.value;
        return true;
      },
    });
  }

  /** `require` for cells: mixprec itself, local .ts files compiled by the converter, pre-imported ESM packages. */
  private wrappedRequire(req: NodeJS.Require, dirname: string): NodeJS.Require {
    // The nested module loaders below are plain functions called by Node's loader, with their own `this`.
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const self = this;
    const fromSideOutputs = (id: string): unknown => {
      let file = path.resolve(dirname, id);
      if (path.extname(file) === '') file += '.js';
      const cached = self.sideModules.get(file);
      if (cached) return cached.exports;
      const code = self.sideOutputs.get(file);
      if (code === undefined) return undefined;
      const mod = new Module(file, module) as Module & { _compile(src: string, file: string): void; paths: string[] };
      mod.filename = file;
      mod.paths = (Module as unknown as { _nodeModulePaths(dir: string): string[] })._nodeModulePaths(path.dirname(file));
      (mod as unknown as { require: NodeJS.Require }).require = self.wrappedRequire(mod.require.bind(mod) as NodeJS.Require, path.dirname(file));
      mod._compile(code, file);
      self.sideModules.set(file, mod);
      return mod.exports;
    };
    return new Proxy(req, {
      apply(_target, thisArg, args: unknown[]) {
        const id = args[0] as string;
        if (id === 'mixprec') return require('../index');
        if (id === 'mixprec/tools') return require('../tools');
        if (self.esmCache.has(id)) return self.esmCache.get(id);
        if (id.startsWith('.')) {
          const local = fromSideOutputs(id);
          if (local !== undefined) return local;
          return Reflect.apply(req, thisArg, args);
        }
        try {
          return Reflect.apply(req, thisArg, args);
        } catch (err) {
          // Not in the notebook folder: mixprec's own dependencies (tfjs, vega-lite, apache-arrow, …).
          if ((err as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw err;
          return require(id);
        }
      },
    });
  }

  /**
   * Imports, with a real import(), the packages a cell requires that cannot be require()d (ESM with top-level await),
   * from the notebook folder or else from mixprec's own dependencies.
   */
  private async preloadEsm(js: string): Promise<void> {
    const isEsmError = (err: unknown) => ESM_ERRORS.has((err as NodeJS.ErrnoException).code ?? '');
    for (const [, id] of js.matchAll(/\brequire\("([^"]+)"\)/g)) {
      if (id === undefined || id === 'mixprec' || id === 'mixprec/tools' || id.startsWith('.') || id.startsWith('node:') || this.esmCache.has(id))
        continue;
      try {
        this.baseRequire(id);
        continue;
      } catch (err) {
        if (isEsmError(err)) {
          this.esmCache.set(id, await import(pathToFileURL(this.baseRequire.resolve(id)).href));
          continue;
        }
        if ((err as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') continue; // the cell will report it
      }
      try {
        require(id);
      } catch (err) {
        if (isEsmError(err)) this.esmCache.set(id, await import(id));
      }
    }
  }

  async isComplete(code: string): Promise<{ status: 'complete' | 'incomplete' | 'invalid'; indent: string }> {
    const r = await this.compiler.call<{ completed: boolean; indent?: string }>({ op: 'isComplete', src: code });
    return { status: r.completed ? 'complete' : 'incomplete', indent: r.indent ?? '' };
  }

  complete(code: string, cursor: number): Promise<{ start: number; end: number; candidates: string[] }> {
    return this.compiler.call({ op: 'complete', prevDecl: this.prelude() + this.prevDecl, src: code, position: cursor });
  }

  async inspect(code: string, cursor: number): Promise<{ text: string; found: boolean }> {
    const info = await this.compiler.call<QuickInfo | null>({ op: 'inspect', prevDecl: this.prelude() + this.prevDecl, src: code, position: cursor });
    if (!info) return { text: '', found: false };
    const signature = (info.displayParts ?? []).map((p) => p.text).join('');
    const doc = (info.documentation ?? []).map((p) => p.text).join('');
    const tags = (info.tags ?? []).map((t) => `@${t.name} ${(t.text ?? []).map((x) => x.text).join('')}`).join('\n');
    return { text: [signature, doc, tags].filter(Boolean).join('\n\n'), found: signature !== '' };
  }

  /** Breaks the cell's wait on asynchronous work (synchronous code is stopped by SIGINT, see breakOnSigint). */
  interrupt(): void {
    this.rejectInterrupt?.(new InterruptedError());
  }

  /** Compiles and runs a cell; `signal` aborted before it runs (an interrupt while it compiled) stops it there. */
  async execute(code: string, signal?: AbortSignal): Promise<ExecutionResult> {
    const converted = await this.compiler.call<ConvertResult>({ op: 'convert', prevDecl: this.prelude() + this.prevDecl, src: code });
    for (const side of converted.sideOutputs ?? []) {
      this.sideModules.delete(side.path);
      this.sideOutputs.set(side.path, side.data);
    }
    if (converted.diagnostics.length > 0) throw new CompileError(converted.diagnostics.map(formatDiagnostic));
    if (!converted.output) {
      this.prevDecl = converted.declOutput ?? '';
      return { hasValue: false };
    }
    await this.preloadEsm(converted.output);
    // Interrupted while compiling: a synchronous loop started now could not be stopped any more (the SIGINT is spent).
    if (signal?.aborted) throw new InterruptedError();
    const wrapped = `${converted.hasToplevelAwait ? '(async function(exports, require) { ' : '(function(exports, require) { '}${converted.output}\n})(__mixprec_cell__.exports, __mixprec_cell__.require)`;
    const interrupted = new Promise<never>((_, reject) => {
      this.rejectInterrupt = reject;
    });
    interrupted.catch(() => undefined);
    try {
      let ret: unknown;
      try {
        ret = vm.runInThisContext(wrapped, { filename: 'cell.js', breakOnSigint: true, displayErrors: false });
      } catch (err) {
        if (err instanceof Error && /Script execution was interrupted by `SIGINT`/.test(err.message)) throw new InterruptedError();
        throw err;
      }
      if (converted.hasToplevelAwait) await Promise.race([ret, interrupted]);
    } finally {
      this.rejectInterrupt = undefined;
      // Declarations of everything that ran count, even if it failed midway (its locals exist).
      this.prevDecl = converted.declOutput ?? this.prevDecl;
    }
    const lastVar = converted.lastExpressionVar;
    if (lastVar === undefined || !(lastVar in this.locals)) return { hasValue: false };
    const value = this.locals[lastVar];
    delete this.locals[lastVar];
    return value === undefined ? { hasValue: false } : { hasValue: true, value };
  }

  /** Forgets every local and declaration (the preloaded globals come back). */
  reset(): void {
    this.prevDecl = '';
    for (const name of Object.getOwnPropertyNames(this.locals)) delete this.locals[name];
    for (const g of this.globals) this.locals[g.name] = g.value;
  }

  async close(): Promise<void> {
    await this.compiler.close();
  }
}

/**
 * Compiler options merged into tslab's: type roots and module paths that find the notebook folder's packages first
 * and mixprec's own (tfjs, vega-lite, @types/node) after, and bundler resolution so that packages which declare their
 * types only in "exports" (vega-lite 6) resolve.
 */
function compilerOptions(rootDir: string): Record<string, unknown> {
  const nodeModules = path.join(PACKAGE_ROOT, 'node_modules');
  return {
    typeRoots: [path.join(rootDir, 'node_modules', '@types'), path.join(nodeModules, '@types')],
    baseUrl: rootDir,
    moduleResolution: 100, // ts.ModuleResolutionKind.Bundler (TypeScript ≥ 5.0): honours "exports"
    paths: {
      mixprec: [PACKAGE_ROOT],
      'mixprec/tools': [path.join(PACKAGE_ROOT, 'dist', 'tools')],
      ...dependencyTypePaths(),
      '*': [path.join(rootDir, 'node_modules', '*'), path.join(nodeModules, '*'), path.join(nodeModules, '@types', '*')],
    },
  };
}

/**
 * Path mappings to the declaration files of mixprec's own dependencies: "paths" targets are resolved as folders
 * (their package.json "types"), which misses packages that declare types only in "exports" (vega-lite 6).
 */
function dependencyTypePaths(): Record<string, string[]> {
  const pkg = JSON.parse(fs.readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
  const out: Record<string, string[]> = {};
  for (const name of Object.keys(pkg.dependencies ?? {})) {
    const dir = path.join(PACKAGE_ROOT, 'node_modules', name);
    try {
      const meta = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { types?: string; typings?: string; exports?: unknown };
      const root = (meta.exports as Record<string, unknown> | undefined)?.['.'];
      const fromExports =
        typeof root === 'object' && root !== null
          ? ((root as Record<string, unknown>).types ?? (root as Record<string, Record<string, unknown>>).import?.types)
          : undefined;
      const types = meta.types ?? meta.typings ?? (typeof fromExports === 'string' ? fromExports : undefined);
      if (types) out[name] = [path.join(dir, types)];
    } catch {
      // not installed (optional) or unreadable: leave it to normal resolution
    }
  }
  return out;
}

/** The declaration of a global typed as a module of this package, by its path under dist/ or node_modules/. */
export function moduleGlobal(name: string, value: unknown, modulePath: string, member?: string): Global {
  const file = JSON.stringify(modulePath);
  return { name, value, declaration: `declare const ${name}: ${member ? `import(${file}).${member}` : `typeof import(${file})`};` };
}

export function existsInPackage(relative: string): boolean {
  return fs.existsSync(path.join(PACKAGE_ROOT, relative));
}
