/** `mixprec run` and `mixprec sweep` as a user runs them: exit codes, one-line errors, nothing written on bad input. */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { codeNotebook, nbformatProblems, readNotebook, writeNotebook } from '../helpers/notebooks';
import { missingPython } from '../helpers/jupyter';

const root = path.resolve(__dirname, '..', '..');
const bin = path.join(root, 'bin', 'mixprec.js');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'mixprec-run-cli-'));
const env = { ...process.env, JUPYTER_DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'mixprec-run-cli-data-')), MIXPREC_BACKEND: 'wasm' };
const NO_NBFORMAT = missingPython('nbformat', 'python3-nbformat') !== '';

function mixprec(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: work, encoding: 'utf8', env, timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const file = (name: string, text: string) => {
  fs.writeFileSync(path.join(work, name), text);
  return name;
};

describe('mixprec run: bad input', () => {
  writeNotebook(path.join(work, 'ok.ipynb'), codeNotebook([{ source: 'const lr = 0.1;', tags: ['parameters'] }, 'lr']));
  file('bad.ipynb', '{"cells": [');
  file('list.ipynb', '[]');
  file('v3.ipynb', JSON.stringify({ nbformat: 3, nbformat_minor: 0, metadata: {}, worksheets: [] }));
  file('params.yaml', 'lr: [0.1\n');
  // Bad arguments (a parameter, a parameters file) exit 2; a notebook or kernel that cannot be used exits 1.
  const cases: [string, string[], RegExp, number][] = [
    ['a missing file', ['missing.ipynb'], /^mixprec run: missing\.ipynb: no such file$/, 1],
    ['invalid JSON', ['bad.ipynb'], /^mixprec run: bad\.ipynb: not valid JSON \(/, 1],
    ['not a notebook', ['list.ipynb'], /^mixprec run: list\.ipynb: not a Jupyter notebook/, 1],
    ['nbformat 3', ['v3.ipynb'], /^mixprec run: v3\.ipynb: nbformat 3 is not supported/, 1],
    ['an unknown kernel', ['ok.ipynb', '-k', 'cobol'], /^mixprec run: no kernel named "cobol" \(kernelspecs found: .*python3.*mixprec/, 1],
    ['a parameter that does not parse', ['ok.ipynb', '-p', 'widths', '[1, 2'], /^mixprec run: parameter widths: "\[1, 2" is not valid JSON/, 2],
    [
      'a parameter name that is not an identifier',
      ['ok.ipynb', '-p', 'learning-rate', '1'],
      /^mixprec run: parameter name "learning-rate" is not a valid typescript identifier$/,
      2,
    ],
    [
      'a parameters file that is not YAML',
      ['ok.ipynb', '-f', 'params.yaml'],
      /^mixprec run: parameters file params\.yaml: not valid YAML or JSON/,
      2,
    ],
    ['a missing parameters file', ['ok.ipynb', '-f', 'none.yaml'], /^mixprec run: parameters file none\.yaml: no such file$/, 2],
  ];
  for (const [what, args, message, code] of cases) {
    it(`${what}: one line, exit ${code}, nothing written`, () => {
      const out = path.join(work, 'never.ipynb');
      const r = mixprec('run', ...args, out);
      assert.equal(r.code, code, r.stderr);
      assert.match(r.stderr.trimEnd(), message);
      assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
      assert.equal(fs.existsSync(out), false);
      assert.deepEqual(
        fs.readdirSync(work).filter((f) => f.includes('.tmp-') || f.endsWith('.out.ipynb')),
        [],
      );
    });
  }

  it('usage errors exit 2', () => {
    assert.equal(mixprec('run').code, 2);
    const r = mixprec('run', 'ok.ipynb', '-p', 'lr');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /-p needs a name and a value \(-p NAME VALUE\)/);
    assert.equal(mixprec('run', 'ok.ipynb', '--timeout', '0').code, 2);
  });
});

describe('mixprec run', () => {
  it('runs a notebook, streams its output with --log-output and prints where the result is', () => {
    writeNotebook(
      path.join(work, 'hello.ipynb'),
      codeNotebook([
        { source: 'const who: string = "world";', tags: ['parameters'] },
        'console.log(`hello ${who}`); console.error("to stderr"); 6 * 7',
      ]),
    );
    const r = mixprec('run', 'hello.ipynb', '-p', 'who', 'mixprec', '--log-output');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^hello mixprec\n42\n/);
    assert.match(r.stderr, /to stderr/);
    assert.match(r.stderr, /cell 3\/3 completed in/);
    assert.match(r.stdout, /hello\.ipynb: 3 cells ran in [\d.]+ s \(kernel mixprec\) → hello\.out\.ipynb/);
    if (!NO_NBFORMAT) assert.equal(nbformatProblems(path.join(work, 'hello.out.ipynb')), '');
  });

  it('exits 1 on a raising cell, with the traceback and the cell named', () => {
    writeNotebook(path.join(work, 'raise.ipynb'), codeNotebook(['1', 'function deep() { throw new TypeError("bad type"); }\ndeep();', '2']));
    const r = mixprec('run', 'raise.ipynb', 'raised.ipynb', '--no-progress');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /TypeError: bad type[\s\S]*at deep/);
    assert.match(
      r.stderr,
      /mixprec run: cell 2 \("function deep\(\) \{ throw new TypeError\(\\"…"\) raised TypeError: bad type; the notebook so far is in raised\.ipynb\n$/,
    );
    assert.ok(fs.existsSync(path.join(work, 'raised.ipynb')));
  });

  it('leaves a valid notebook with every finished cell when the runner is killed with SIGKILL, and the kernel exits', async () => {
    const pid = path.join(work, 'kernel.pid');
    writeNotebook(
      path.join(work, 'long.ipynb'),
      codeNotebook([
        `require('fs').writeFileSync(${JSON.stringify(pid)}, String(process.pid)); console.log('first done')`,
        'await new Promise((r) => setTimeout(r, 120_000));',
      ]),
    );
    const out = path.join(work, 'long.out.ipynb');
    const child = spawn(process.execPath, [bin, 'run', 'long.ipynb', '--no-progress'], { cwd: work, env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    let exitCode: number | null | undefined;
    const exited = new Promise((r) => child.on('exit', (code) => r((exitCode = code))));
    // Wait until the notebook on disk shows the first cell's output and the second cell running (the runner saves
    // when a cell ends and when the next one starts).
    const until = Date.now() + 120_000;
    for (;;) {
      if (fs.existsSync(out)) {
        const cells = readNotebook(out).cells;
        if (JSON.stringify(cells[0]!.outputs).includes('first done') && (cells[1]!.metadata.papermill as { status: string }).status === 'running')
          break;
      }
      if (exitCode !== undefined) assert.fail(`mixprec run exited (${exitCode}) before the second cell started: ${stderr}`);
      if (Date.now() > until) {
        child.kill('SIGKILL');
        assert.fail(`the second cell was not running after 120 s: ${stderr}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    child.kill('SIGKILL');
    await exited;
    if (!NO_NBFORMAT) assert.equal(nbformatProblems(out), '');
    const nb = readNotebook(out);
    assert.equal((nb.cells[0]!.metadata.papermill as { status: string }).status, 'completed');
    assert.equal((nb.cells[1]!.metadata.papermill as { status: string }).status, 'running');
    const kernelPid = Number(fs.readFileSync(pid, 'utf8'));
    const kernelDeadline = Date.now() + 10_000;
    while (Date.now() < kernelDeadline) {
      try {
        process.kill(kernelPid, 0);
      } catch {
        return; // the orphaned kernel noticed its parent was gone and exited
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    process.kill(kernelPid, 'SIGKILL');
    assert.fail('the kernel outlived its runner by 10 s');
  });
});

describe('mixprec sweep', () => {
  it('runs one notebook per grid point, two kernels at once, and indexes the runs with their status', () => {
    writeNotebook(
      path.join(work, 'sweep.ipynb'),
      codeNotebook([
        { source: 'const n: number = 0;\nconst label: string = "";', tags: ['parameters'] },
        'await new Promise((r) => setTimeout(r, 1000));\nif (n === 2) throw new Error("n = 2 fails");\nconsole.log(label, n * 10)',
      ]),
    );
    file('grid.yaml', 'n: [1, 2, 3]\n');
    const r = mixprec('sweep', 'sweep.ipynb', '--grid', 'grid.yaml', '--out', 'swept', '--parallel', '2', '-p', 'label', 'run');
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /run 2\/3 \(label=run n=2\) failed in [\d.]+ s: cell 3 .* raised Error: n = 2 fails/);
    assert.match(r.stderr, /mixprec sweep: 1 run\(s\) did not complete: sweep-002\.ipynb/);
    const index = JSON.parse(fs.readFileSync(path.join(work, 'swept', 'index.json'), 'utf8')) as {
      parallel: number;
      finished: string;
      runs: { parameters: Record<string, unknown>; status: string; notebook: string }[];
    };
    assert.equal(index.parallel, 2);
    assert.ok(index.finished);
    assert.deepEqual(
      index.runs.map((x) => [x.parameters, x.status, x.notebook]),
      [
        [{ label: 'run', n: 1 }, 'completed', 'sweep-001.ipynb'],
        [{ label: 'run', n: 2 }, 'failed', 'sweep-002.ipynb'],
        [{ label: 'run', n: 3 }, 'completed', 'sweep-003.ipynb'],
      ],
    );
    const html = fs.readFileSync(path.join(work, 'swept', 'index.html'), 'utf8');
    assert.match(html, /<tr class="failed"><td>2<\/td><td>run<\/td><td>2<\/td><td>failed<\/td>/);
    assert.match(html, /<a href="sweep-003\.ipynb">/);
    // Two kernels at once: the first two runs overlap in time.
    const span = (i: number) => {
      const m = readNotebook(path.join(work, 'swept', `sweep-00${i}.ipynb`)).metadata.papermill as { start_time: string; end_time: string };
      return [Date.parse(m.start_time), Date.parse(m.end_time)] as const;
    };
    const [a, b] = [span(1), span(2)];
    assert.ok(a[0] < b[1] && b[0] < a[1], 'runs 1 and 2 did not overlap');
    const out3 = readNotebook(path.join(work, 'swept', 'sweep-003.ipynb'));
    assert.match(JSON.stringify(out3.cells[2]!.outputs), /run 30/);
  });

  it('refuses to rerun into a sweep folder, reruns only the unfinished runs with --resume, and refuses a changed grid', () => {
    // Each run appends its n to ran.log (the kernel's folder is the notebook's); n = 2 fails while fail-2 exists.
    writeNotebook(
      path.join(work, 'resume.ipynb'),
      codeNotebook([
        { source: 'const n: number = 0;', tags: ['parameters'] },
        'const fs = require("fs");\nfs.appendFileSync("ran.log", `${n}\\n`);\nif (n === 2 && fs.existsSync("fail-2")) throw new Error("n = 2 fails");',
      ]),
    );
    file('resume-grid.yaml', 'n: [1, 2, 3]\n');
    file('fail-2', '');
    const ran = () => fs.readFileSync(path.join(work, 'ran.log'), 'utf8').trim().split('\n').map(Number);
    const first = mixprec('sweep', 'resume.ipynb', '--grid', 'resume-grid.yaml', '--out', 'resumed', '--no-progress');
    assert.equal(first.code, 1, first.stderr);
    assert.deepEqual(ran().sort(), [1, 2, 3]);
    const done = fs.readFileSync(path.join(work, 'resumed', 'resume-001.ipynb'));
    const index = fs.readFileSync(path.join(work, 'resumed', 'index.json'));

    const again = mixprec('sweep', 'resume.ipynb', '--grid', 'resume-grid.yaml', '--out', 'resumed', '--no-progress');
    assert.equal(again.code, 1);
    assert.equal(
      again.stderr,
      'mixprec sweep: resumed already holds a sweep of resume.ipynb (3 runs: 2 completed, 1 failed): ' +
        'rerun the runs that did not complete with --resume, replace it with --overwrite, or write to another --out folder\n',
    );
    assert.deepEqual(fs.readFileSync(path.join(work, 'resumed', 'index.json')), index, 'the index is untouched');
    assert.deepEqual(ran().sort(), [1, 2, 3], 'no run started');

    file('changed-grid.yaml', 'n: [1, 2, 4]\n');
    const changed = mixprec('sweep', 'resume.ipynb', '--grid', 'changed-grid.yaml', '--out', 'resumed', '--resume', '--no-progress');
    assert.equal(changed.code, 1);
    assert.equal(
      changed.stderr,
      'mixprec sweep: cannot resume the sweep in resumed: its grid differs from this one (run 3: n 3 → 4); ' +
        'replace it with --overwrite or write to another --out folder\n',
    );
    assert.deepEqual(ran().sort(), [1, 2, 3], 'no run started');

    fs.rmSync(path.join(work, 'fail-2'));
    const resumed = mixprec('sweep', 'resume.ipynb', '--grid', 'resume-grid.yaml', '--out', 'resumed', '--resume', '--no-progress');
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stdout, /3\/3 runs completed \(2 before this resume\); index: resumed\/index\.html/);
    assert.deepEqual(ran().sort(), [1, 2, 2, 3], 'only the failed run ran again');
    assert.deepEqual(fs.readFileSync(path.join(work, 'resumed', 'resume-001.ipynb')), done, "a completed run's notebook is kept as it was");
    const after = JSON.parse(fs.readFileSync(path.join(work, 'resumed', 'index.json'), 'utf8')) as { runs: { status: string }[] };
    assert.deepEqual(
      after.runs.map((r) => r.status),
      ['completed', 'completed', 'completed'],
    );
  });
});
