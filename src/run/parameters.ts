/**
 * Notebook parameters, as papermill does them: values from the command line (typed: numbers, booleans, null, JSON lists
 * and objects, else strings) or from a YAML / JSON file, written in the kernel's language into a cell tagged
 * `injected-parameters` right after the cell tagged `parameters` (or at the top), replacing an earlier injected cell.
 * TypeScript gets `const` declarations that keep the types the parameters cell declared (`const mode = ("P3" satisfies 'U3' | 'P3') as 'U3' | 'P3'`),
 * so that a later `if (mode === 'U3')` still type-checks when the injected value is 'P3'.
 */
import * as fs from 'node:fs';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import type * as TS from 'typescript';
import { UsageError } from '../util/errors';
import { hasTag, newCellId, type Notebook, type NotebookCell } from './notebook';

export type ParameterValue = null | boolean | number | string | ParameterValue[] | { [key: string]: ParameterValue };
export type Parameters = Record<string, ParameterValue>;

/** A parameter that cannot be used; the message names it (and the file) and says why. */
export class ParameterError extends UsageError {
  constructor(message: string) {
    super(message);
    this.name = 'ParameterError';
  }
}

const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/**
 * Types a command-line value: true/false (or True/False), null (or None), numbers, JSON lists, objects and quoted
 * strings; anything else is a string. A value that starts like JSON but does not parse is an error, not a string.
 */
export function parseParameterValue(name: string, raw: string): ParameterValue {
  const v = raw.trim();
  if (v === 'true' || v === 'True') return true;
  if (v === 'false' || v === 'False') return false;
  if (v === 'null' || v === 'None') return null;
  if (NUMBER.test(v)) return Number(v);
  if (v.startsWith('[') || v.startsWith('{') || v.startsWith('"')) {
    try {
      return checkValue(name, JSON.parse(v));
    } catch (err) {
      if (err instanceof ParameterError) throw err;
      throw new ParameterError(`parameter ${name}: ${JSON.stringify(raw)} is not valid JSON (${(err as Error).message})`);
    }
  }
  return raw;
}

/** Checks that a value is representable (finite numbers, plain lists/objects); returns it. */
function checkValue(where: string, v: unknown): ParameterValue {
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return v;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new ParameterError(`parameter ${where}: ${v} is not a finite number`);
    return v;
  }
  if (Array.isArray(v)) return v.map((x, i) => checkValue(`${where}[${i}]`, x));
  if (typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    return Object.fromEntries(Object.entries(v as object).map(([k, x]) => [k, checkValue(`${where}.${k}`, x)]));
  }
  throw new ParameterError(`parameter ${where}: unsupported value ${String(v)} (use numbers, strings, booleans, null, lists or mappings)`);
}

/** Reads a YAML or JSON file holding a mapping of parameter names to values. */
export function readParameterFile(file: string): Parameters {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new ParameterError(`parameters file ${file}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`);
  }
  let data: unknown;
  try {
    data = parseYaml(text, { prettyErrors: true, uniqueKeys: true });
  } catch (err) {
    const detail = err instanceof YAMLParseError ? err.message.split('\n')[0] : (err as Error).message;
    throw new ParameterError(`parameters file ${file}: not valid YAML or JSON (${detail})`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    const got = data === null || data === undefined ? 'nothing' : Array.isArray(data) ? 'a list' : `a ${typeof data}`;
    throw new ParameterError(`parameters file ${file}: expected a mapping of parameter names to values, got ${got}`);
  }
  return toParameters(`parameters file ${file}`, data as Record<string, unknown>);
}

/** Checks parsed data (finite numbers, plain lists and mappings); errors start with `context`. */
export function toParameters(context: string, data: Record<string, unknown>): Parameters {
  const out: Parameters = {};
  for (const [k, v] of Object.entries(data)) {
    try {
      out[k] = checkValue(k, v);
    } catch (err) {
      throw new ParameterError(`${context}: ${(err as Error).message}`);
    }
  }
  return out;
}

/** Parameters from files (in order) and then NAME VALUE pairs from the command line; later ones win, as in papermill. */
export function collectParameters(files: readonly string[] = [], pairs: readonly (readonly [string, string])[] = []): Parameters {
  const out: Parameters = {};
  for (const file of files) Object.assign(out, readParameterFile(file));
  for (const [name, value] of pairs) out[name] = parseParameterValue(name, value);
  return out;
}

// ---------------------------------------------------------------------------------------------- translators

/** Writes parameter assignments in one kernel language (papermill's translators). */
export interface ParameterTranslator {
  language: string;
  /** The injected cell's source; `declared` is the source of the notebook's `parameters` cell, if any. */
  translate(parameters: Parameters, declared: string | undefined): string;
  /** Names the parameters cell defines (to warn about parameters the notebook does not declare). */
  declaredNames(source: string): Set<string>;
}

const JS_RESERVED = new Set(
  (
    'break case catch class const continue debugger default delete do else enum export extends false finally for ' +
    'function if import in instanceof new null return super switch this throw true try typeof var void while with yield let static ' +
    'implements interface package private protected public await'
  ).split(' '),
);
const PY_RESERVED = new Set(
  (
    'False None True and as assert async await break class continue def del elif else except finally for from ' +
    'global if import in is lambda nonlocal not or pass raise return try while with yield'
  ).split(' '),
);

function checkName(name: string, pattern: RegExp, reserved: Set<string>, language: string): void {
  if (!pattern.test(name) || reserved.has(name))
    throw new ParameterError(`parameter name ${JSON.stringify(name)} is not a valid ${language} identifier`);
}

/** JSON text with the line separators U+2028/U+2029 escaped: legal in literals, but they break lines in editors. */
const quote = (v: unknown): string => JSON.stringify(v).replace(/[\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16)}`);
const jsLiteral = (v: ParameterValue): string => quote(v);

function pyLiteral(v: ParameterValue): string {
  if (v === null) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (typeof v === 'number' || typeof v === 'string') return quote(v);
  if (Array.isArray(v)) return `[${v.map(pyLiteral).join(', ')}]`;
  return `{${Object.entries(v)
    .map(([k, x]) => `${quote(k)}: ${pyLiteral(x)}`)
    .join(', ')}}`;
}

let tsModule: typeof TS | undefined;
/** tslab's TypeScript (always installed with the kernel), loaded only when a TypeScript notebook is parameterized. */
function typescript(): typeof TS {
  return (tsModule ??= require('@tslab/typescript-for-tslab') as typeof TS);
}

/** name → declared type text of the `const`/`let`/`var` declarations at the top level of a TypeScript cell. */
function declaredTypes(source: string): Map<string, string | undefined> {
  const ts = typescript();
  const file = ts.createSourceFile('parameters.ts', source, ts.ScriptTarget.Latest, true);
  const out = new Map<string, string | undefined>();
  for (const statement of file.statements) {
    if (!ts.isVariableStatement(statement)) continue;
    for (const d of statement.declarationList.declarations) {
      if (ts.isIdentifier(d.name)) out.set(d.name.text, d.type?.getText(file));
    }
  }
  return out;
}

function tsTranslator(language: 'typescript' | 'javascript'): ParameterTranslator {
  const typed = language === 'typescript';
  return {
    language,
    declaredNames: (source) => new Set(declaredTypes(source).keys()),
    translate(parameters, declared) {
      const types = declared !== undefined ? declaredTypes(declared) : new Map<string, string | undefined>();
      const lines = ['// Parameters'];
      for (const [name, value] of Object.entries(parameters)) {
        checkName(name, /^[A-Za-z_$][\w$]*$/, JS_RESERVED, language);
        // Not `NAME: TYPE = VALUE`: TypeScript narrows a const of a union type (boolean, 'U3' | 'P3') to the literal it
        // is given, and a later `mode === 'U3'` would not type-check. `satisfies` checks the value against the declared
        // type, `as` then gives the constant that type. Undeclared primitives are widened the same way.
        const declaredType = typed ? types.get(name) : undefined;
        const primitive =
          typeof value === 'number' ? 'number' : typeof value === 'string' ? 'string' : typeof value === 'boolean' ? 'boolean' : undefined;
        const literal = jsLiteral(value);
        const expression =
          declaredType && declaredType !== primitive
            ? `(${literal} satisfies ${declaredType}) as ${declaredType}`
            : typed && primitive
              ? `${literal} as ${primitive}`
              : literal;
        lines.push(`const ${name} = ${expression};`);
      }
      return `${lines.join('\n')}\n`;
    },
  };
}

const pythonTranslator: ParameterTranslator = {
  language: 'python',
  declaredNames(source) {
    const names = new Set<string>();
    for (const m of source.matchAll(/^([A-Za-z_]\w*)\s*(?::[^=\n]+)?=(?!=)/gm)) names.add(m[1]!);
    return names;
  },
  translate(parameters) {
    const lines = ['# Parameters'];
    for (const [name, value] of Object.entries(parameters)) {
      checkName(name, /^[A-Za-z_]\w*$/, PY_RESERVED, 'Python');
      lines.push(`${name} = ${pyLiteral(value)}`);
    }
    return `${lines.join('\n')}\n`;
  },
};

const TRANSLATORS: Record<string, ParameterTranslator> = {
  typescript: tsTranslator('typescript'),
  javascript: tsTranslator('javascript'),
  python: pythonTranslator,
};

/** The translator for a kernel language; an error names the languages supported. */
export function translatorFor(language: string): ParameterTranslator {
  const t = TRANSLATORS[language.toLowerCase()];
  if (!t) throw new ParameterError(`cannot write parameters for kernel language "${language}" (supported: ${Object.keys(TRANSLATORS).join(', ')})`);
  return t;
}

export interface Parameterized {
  notebook: Notebook;
  /** Parameters the notebook's `parameters` cell does not define (papermill warns about them too). */
  unknown: string[];
  /** Whether the notebook has a cell tagged `parameters`. */
  hasParametersCell: boolean;
}

/** Inserts (or replaces) the injected-parameters cell; the notebook is changed in place and returned. */
export function parameterizeNotebook(nb: Notebook, parameters: Parameters, language: string): Parameterized {
  const translator = translatorFor(language);
  const paramsIndex = nb.cells.findIndex((c) => hasTag(c, 'parameters'));
  const injectedIndex = nb.cells.findIndex((c) => hasTag(c, 'injected-parameters'));
  const declared = paramsIndex >= 0 ? nb.cells[paramsIndex]!.source : undefined;
  const cell: NotebookCell = {
    cell_type: 'code',
    source: translator.translate(parameters, declared),
    metadata: { tags: ['injected-parameters'] },
    outputs: [],
    execution_count: null,
    ...(nb.nbformat_minor >= 5 ? { id: newCellId() } : {}),
  };
  if (injectedIndex >= 0) nb.cells.splice(injectedIndex, 1, cell);
  else if (paramsIndex >= 0) nb.cells.splice(paramsIndex + 1, 0, cell);
  else nb.cells.unshift(cell);
  const names = declared !== undefined ? translator.declaredNames(declared) : new Set<string>();
  return { notebook: nb, unknown: Object.keys(parameters).filter((k) => !names.has(k)), hasParametersCell: paramsIndex >= 0 };
}
