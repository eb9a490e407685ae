/**
 * tslab's TypeScript converter (type checking, completion, inspection, is-complete) loaded with two fixes applied to
 * its source in memory, so nothing in node_modules is modified:
 *  - top-level names starting with `__` are exported under their escaped form (`___x`), so a cell declaring
 *    `const __x` failed with "Cannot find name '___x'": the exported names are unescaped;
 *  - type roots and module paths come from the notebook folder only, so cells failed with "Cannot find name
 *    'console'" unless @types/node sat above the notebook, and could not see mixprec's own packages: compiler options
 *    from {@link setConverterCompilerOptions} are merged in;
 *  - declaration-emit diagnostics (TS2742) no longer reject cells that use types of packages outside the notebook;
 *  - shorthand properties (`{ values }`) that name an earlier cell's variable no longer throw "not defined".
 */
import * as fs from 'node:fs';
import Module from 'node:module';
import * as path from 'node:path';

export interface Diagnostic {
  start: { offset: number; line: number; character: number };
  end: { offset: number; line: number; character: number };
  messageText: string;
  category: number;
  code: number;
  fileName?: string;
}

export interface ConvertResult {
  output?: string;
  declOutput?: string;
  diagnostics: Diagnostic[];
  lastExpressionVar?: string;
  hasToplevelAwait?: boolean;
  sideOutputs?: { path: string; data: string }[];
}

export interface QuickInfo {
  textSpan: { start: number; length: number };
  displayParts?: { text: string }[];
  documentation?: { text: string }[];
  tags?: { name: string; text?: { text: string }[] }[];
}

export interface Converter {
  convert(prevDecl: string, src: string): ConvertResult;
  inspect(prevDecl: string, src: string, position: number): QuickInfo | undefined;
  complete(prevDecl: string, src: string, position: number): { start: number; end: number; candidates: string[] };
  addModule(name: string, content: string): Diagnostic[];
  close(): void;
}

interface ConverterModule {
  createConverter(options?: { isJS?: boolean; isBrowser?: boolean }): Converter;
  isCompleteCode(content: string): { completed: boolean; indent?: string };
}

const OPTIONS_KEY = '__mixprec_tslab_compiler_options__';

const FIXES: readonly { find: string; replace: string; why: string }[] = [
  {
    // A shorthand property `{ values }` naming an earlier cell's variable was left as is (the variable lives on
    // `exports`), failing with "values is not defined": it becomes `{ values: exports.values }`.
    find: '        function wrapPrevIdentifier(node) {\n',
    replace: `        function wrapPrevIdentifier(node) {
            if (ts.isShorthandPropertyAssignment(node)) {
                const sym = checker.getShorthandAssignmentValueSymbol(node);
                if (sym && (sym.declarations || []).some((d) => d.getSourceFile() === declsFile)) {
                    return ts.factory.createPropertyAssignment(ts.factory.createIdentifier(node.name.text),
                        ts.factory.createPropertyAccessExpression(ts.factory.createIdentifier("exports"), ts.factory.createIdentifier(node.name.text)));
                }
                return node;
            }
`,
    why: 'shorthand properties of earlier variables',
  },
  {
    // TS2742/TS2883 ("the inferred type … cannot be named without a reference to …") concern only the declarations
    // tslab emits for the next cells (whose relative import paths resolve from the notebook folder anyway); left in,
    // they reject any cell whose locals have types from packages outside the notebook folder.
    find: 'return ts.getPreEmitDiagnosticsOfFiles(builder.getProgram(), files);',
    replace: 'return ts.getPreEmitDiagnosticsOfFiles(builder.getProgram(), files).filter((d) => d.code !== 2742 && d.code !== 2883);',
    why: 'declaration-only diagnostics',
  },
  { find: 'keys.add(key);', replace: 'keys.add(ts.unescapeLeadingUnderscores(key));', why: 'unescape __names' },
  { find: 'typeRoots: getTypeRoots(),', replace: `typeRoots: getTypeRoots(), ...(globalThis.${OPTIONS_KEY} || {}),`, why: 'extra compiler options' },
];

let loaded: ConverterModule | undefined;

/** Compiler options merged into tslab's (typeRoots, baseUrl, paths); set before creating a converter. */
export function setConverterCompilerOptions(options: Record<string, unknown>): void {
  (globalThis as Record<string, unknown>)[OPTIONS_KEY] = options;
}

export function loadTslabConverter(): ConverterModule {
  if (loaded) return loaded;
  const file = require.resolve('tslab/dist/converter');
  let source = fs.readFileSync(file, 'utf8');
  for (const fix of FIXES) {
    if (source.split(fix.find).length !== 2) {
      throw new Error(`mixprec: tslab's converter (${file}) changed; cannot apply the fix "${fix.why}" (pin tslab 1.0.22)`);
    }
    source = source.replace(fix.find, fix.replace);
  }
  const mod = new Module(file, module) as Module & { _compile(src: string, file: string): void; paths: string[] };
  mod.filename = file;
  mod.paths = (Module as unknown as { _nodeModulePaths(dir: string): string[] })._nodeModulePaths(path.dirname(file));
  mod._compile(source, file);
  loaded = mod.exports as ConverterModule;
  return loaded;
}
