/** Messages between the kernel and its compiler worker (tslab's TypeScript converter off the main thread). */
import type { ConvertResult, QuickInfo } from './tslab';

export interface CompilerInit {
  /** The notebook folder; tslab compiles relative to the process's working directory, which must be this. */
  rootDir: string;
  /** Compiler options merged into tslab's (type roots, module paths, resolution). */
  compilerOptions: Record<string, unknown>;
  /** Declarations type-checked once at start to warm the checker up. */
  warmUpDeclarations: string;
}

export type CompilerRequest =
  | { id: number; op: 'convert'; prevDecl: string; src: string }
  | { id: number; op: 'complete'; prevDecl: string; src: string; position: number }
  | { id: number; op: 'inspect'; prevDecl: string; src: string; position: number }
  | { id: number; op: 'isComplete'; src: string };

export type CompilerResponse =
  | {
      id: number;
      ok: true;
      result: ConvertResult | QuickInfo | { start: number; end: number; candidates: string[] } | { completed: boolean; indent?: string } | null;
    }
  | { id: number; ok: false; error: string }
  | { id: 0; ready: true; warmUpMs: number };
