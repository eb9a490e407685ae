/**
 * Parameters: command-line typing, files, and the injected cell, checked by independent readers: Python evaluates the
 * Python cell, the TypeScript compiler type-checks and transpiles the TypeScript cell and Node evaluates it.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vm from 'node:vm';
import * as ts from 'typescript';
import {
  collectParameters,
  parameterizeNotebook,
  parseParameterValue,
  ParameterError,
  readParameterFile,
  translatorFor,
  type Parameters,
} from '../../src/run/parameters';
import { expandGrid, readGridFile } from '../../src/run/sweep';
import { parseNotebook } from '../../src/run/notebook';
import { missingTool, PYTHON } from '../helpers/jupyter';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'mixprec-params-'));
const write = (dir: string, name: string, text: string) => {
  const f = path.join(dir, name);
  fs.writeFileSync(f, text);
  return f;
};

/** A value of every kind, with strings that need escaping in both languages. */
const TRICKY: Parameters = {
  lr: 0.001,
  steps: 1200,
  big: 1e21,
  negative: -3.5,
  flag: true,
  off: false,
  nothing: null,
  text: 'quote " backslash \\ newline \n tab \t unicode é ✓ \u2028 end',
  empty: '',
  widths: [1, 2.5, 'x', null, [true]],
  config: { nested: { a: 1 }, 'key with space': 'v' },
};

describe('command-line values', () => {
  const cases: [string, unknown][] = [
    ['0.1', 0.1],
    ['-3', -3],
    ['1e-4', 1e-4],
    ['+2', 2],
    ['.5', 0.5],
    ['true', true],
    ['False', false],
    ['null', null],
    ['None', null],
    ['U3', 'U3'],
    ['resnet20', 'resnet20'],
    ['1.2.3', '1.2.3'],
    ['0x10', '0x10'],
    ['', ''],
    [' spaced ', ' spaced '],
    ['[1, 2, 3]', [1, 2, 3]],
    ['{"a": [true, null]}', { a: [true, null] }],
    ['"42"', '42'],
  ];
  for (const [raw, value] of cases) {
    it(`types ${JSON.stringify(raw)} as ${JSON.stringify(value)}`, () => assert.deepEqual(parseParameterValue('p', raw), value));
  }

  it('rejects JSON that does not parse, naming the parameter', () => {
    assert.throws(
      () => parseParameterValue('widths', '[1, 2'),
      (e: Error) => e instanceof ParameterError && /^parameter widths: "\[1, 2" is not valid JSON/.test(e.message),
    );
    assert.throws(() => parseParameterValue('cfg', '{a: 1}'), /parameter cfg: "\{a: 1\}" is not valid JSON/);
  });

  it('lets -p win over files, later files over earlier ones', () => {
    const dir = tmp();
    const a = write(dir, 'a.yaml', 'lr: 0.1\nmode: U3\nwidths: [1, 2]\n');
    const b = write(dir, 'b.json', '{"mode": "P3", "seed": 7}');
    assert.deepEqual(collectParameters([a, b], [['lr', '0.5']]), { lr: 0.5, mode: 'P3', widths: [1, 2], seed: 7 });
  });
});

describe('parameter files', () => {
  const dir = tmp();
  const cases: [string, string, RegExp][] = [
    ['not YAML', 'lr: [1, 2\nmode: x', /parameters file .*bad-0\.yaml: not valid YAML or JSON \(/],
    ['a list', '- 1\n- 2\n', /expected a mapping of parameter names to values, got a list/],
    ['a scalar', '42\n', /expected a mapping of parameter names to values, got a number/],
    ['empty', '', /expected a mapping of parameter names to values, got nothing/],
    ['duplicate keys', 'lr: 1\nlr: 2\n', /not valid YAML or JSON \(Map keys must be unique/],
    ['a non-finite number', 'lr: .inf\n', /parameter lr: Infinity is not a finite number/],
  ];
  cases.forEach(([what, text, message], i) => {
    it(`rejects ${what}`, () => {
      const file = write(dir, `bad-${i}.yaml`, text);
      assert.throws(
        () => readParameterFile(file),
        (e: Error) => e instanceof ParameterError && message.test(e.message) && e.message.includes(file),
      );
    });
  });
  it('rejects a missing file', () => assert.throws(() => readParameterFile(path.join(dir, 'none.yaml')), /none\.yaml: no such file/));
  it('reads YAML and JSON to the same values', () => {
    const y = write(dir, 'ok.yaml', 'lr: 0.001\nflag: true\nwidths: [1, 2.5, x, null, [true]]\nconfig: {nested: {a: 1}}\n');
    const j = write(dir, 'ok.json', JSON.stringify({ lr: 0.001, flag: true, widths: [1, 2.5, 'x', null, [true]], config: { nested: { a: 1 } } }));
    assert.deepEqual(readParameterFile(y), readParameterFile(j));
  });
});

/** Strict type errors of one TypeScript file. */
function typeErrors(source: string): string[] {
  const options = { strict: true, noEmit: true, target: ts.ScriptTarget.ES2022, types: [] };
  const host = ts.createCompilerHost(options);
  const original = host.getSourceFile.bind(host);
  host.getSourceFile = (name, lang) => (name === 'cell.ts' ? ts.createSourceFile(name, source, lang) : original(name, lang));
  const program = ts.createProgram(['cell.ts'], options, host);
  return ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
}

describe('the injected cell', () => {
  it("Python: evaluates to the same values in Debian's python3", (t) => {
    if (!fs.existsSync(PYTHON)) return t.skip(missingTool(`${PYTHON} is missing`));
    const code = translatorFor('python').translate(TRICKY, undefined);
    assert.match(code, /^# Parameters\nlr = 0\.001\n/);
    const names = Object.keys(TRICKY);
    const r = spawnSync(
      PYTHON,
      ['-c', `${code}\nimport json, sys\nsys.stdout.write(json.dumps({k: globals()[k] for k in ${JSON.stringify(names)}}))`],
      { encoding: 'utf8' },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), TRICKY);
  });

  it('TypeScript: keeps the declared types, widens the rest, type-checks strictly and evaluates to the same values', () => {
    const declared =
      "const lr: number = 0.1;\nconst mode: 'U3' | 'P3' = 'U3';\nlet steps = 10, flag = false;\nconst widths: (number | string | null | boolean[])[] = [];\n";
    const params: Parameters = { ...TRICKY, mode: 'P3' };
    const code = translatorFor('typescript').translate(params, declared);
    assert.match(code, /^\/\/ Parameters\nconst lr = 0\.001 as number;\n/);
    assert.match(code, /\nconst mode = \("P3" satisfies 'U3' \| 'P3'\) as 'U3' \| 'P3';\n/);
    assert.match(code, /\nconst text = ".*" as string;\n/);
    assert.match(code, /\nconst flag = true as boolean;\n/);
    assert.match(
      code,
      /\nconst widths = \(\[.*\] satisfies \(number \| string \| null \| boolean\[\]\)\[\]\) as \(number \| string \| null \| boolean\[\]\)\[\];\n/,
    );
    assert.match(code, /\nconst config = \{.*\};\n/);
    // A later cell that compares against another literal must still type-check (it would not with `const mode = "P3"`).
    const later = `\nif (mode === 'U3') throw new Error('unreachable');\nconst t: string = text; const n: number = steps + lr; void t; void n; void flag;\nexport const values = { ${Object.keys(params).join(', ')} };\n`;
    const source = code + later;
    assert.deepEqual(typeErrors(source), []);
    // A value the declared type cannot hold is still a type error.
    assert.match(
      typeErrors(translatorFor('typescript').translate({ mode: 'X3' }, declared)).join('\n'),
      /Type '"X3"' does not satisfy the expected type '"U3" \| "P3"'/,
    );
    const js = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 } }).outputText;
    const module = { exports: {} as { values?: unknown } };
    vm.runInNewContext(js, { module, exports: module.exports });
    assert.deepEqual(JSON.parse(JSON.stringify(module.exports.values)), params);
  });

  it('rejects names that are not identifiers, and languages without a translator', () => {
    assert.throws(
      () => translatorFor('typescript').translate({ 'learning-rate': 1 }, undefined),
      /parameter name "learning-rate" is not a valid typescript identifier/,
    );
    assert.throws(() => translatorFor('typescript').translate({ class: 1 }, undefined), /"class" is not a valid typescript identifier/);
    assert.throws(() => translatorFor('python').translate({ lambda: 1 }, undefined), /"lambda" is not a valid Python identifier/);
    assert.throws(() => translatorFor('R'), /cannot write parameters for kernel language "R" \(supported: typescript, javascript, python\)/);
  });

  const nb = (tags: (string[] | undefined)[]) =>
    parseNotebook(
      JSON.stringify({
        nbformat: 4,
        nbformat_minor: 5,
        metadata: {},
        cells: tags.map((t, i) => ({
          cell_type: 'code',
          source: i === 1 ? 'lr = 1\nmode = "U3"\n' : `cell${i}`,
          metadata: t ? { tags: t } : {},
          outputs: [],
        })),
      }),
    );

  it("goes after the parameters cell, replaces an earlier injected cell, else goes first (papermill's placement)", () => {
    const after = parameterizeNotebook(nb([undefined, ['parameters'], undefined]), { lr: 2, seed: 3 }, 'python');
    assert.deepEqual(
      after.notebook.cells.map((c) => c.metadata.tags?.[0] ?? c.source),
      ['cell0', 'parameters', 'injected-parameters', 'cell2'],
    );
    assert.deepEqual(after.unknown, ['seed']);
    assert.equal(after.hasParametersCell, true);
    const replaced = parameterizeNotebook(after.notebook, { lr: 5 }, 'python');
    assert.equal(replaced.notebook.cells.length, 4);
    assert.equal(replaced.notebook.cells[2]!.source, '# Parameters\nlr = 5\n');
    const top = parameterizeNotebook(nb([undefined, undefined]), { lr: 2 }, 'python');
    assert.deepEqual(top.notebook.cells[0]!.metadata.tags, ['injected-parameters']);
    assert.equal(top.hasParametersCell, false);
    assert.match(top.notebook.cells[0]!.id!, /^[0-9a-f]{8}$/);
  });
});

describe('sweep grids', () => {
  it("expands a mapping to its cartesian product, last name fastest, with fixed values under the grid's", () => {
    assert.deepEqual(
      expandGrid({ a: [1, 2], b: ['x', 'y', 'z'] }, { c: true, a: 0 }).map((p) => `${p.a}${p.b}${p.c}`),
      ['1xtrue', '1ytrue', '1ztrue', '2xtrue', '2ytrue', '2ztrue'],
    );
  });

  it('reads mappings (a scalar is one value), lists of runs, and rejects bad grids', () => {
    const dir = tmp();
    assert.deepEqual(readGridFile(write(dir, 'g.yaml', 'lr: [0.1, 0.2]\nbits: 4\nwidths: [[1, 2], [3]]\n')), {
      lr: [0.1, 0.2],
      bits: [4],
      widths: [[1, 2], [3]],
    });
    assert.deepEqual(readGridFile(write(dir, 'runs.yaml', '- {lr: 0.1}\n- {lr: 0.2, bits: 2}\n')), [{ lr: 0.1 }, { lr: 0.2, bits: 2 }]);
    assert.throws(() => readGridFile(write(dir, 'e.yaml', 'lr: []\n')), /grid file .*e\.yaml: parameter lr has no values/);
    assert.throws(() => readGridFile(write(dir, 'l.yaml', '- 1\n')), /run 1 is not a mapping/);
    assert.throws(() => readGridFile(write(dir, 'b.yaml', 'lr: [1\n')), /not valid YAML or JSON/);
    assert.throws(() => readGridFile(path.join(dir, 'none.yaml')), /none\.yaml: no such file/);
  });
});
