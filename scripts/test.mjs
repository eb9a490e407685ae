#!/usr/bin/env node
// Runs every test/**/*.test.ts with Node's test runner through tsx; extra arguments filter files by substring.
//
// Nothing here may hang CI: each test file gets a time limit (MIXPREC_TEST_FILE_TIMEOUT_S, default 600 s; the runner
// kills a file that outlives it and reports it as failed), the whole run gets one (MIXPREC_TEST_DEADLINE_S, default
// 2700 s; past it the run is killed and exits 1 naming the limit), and processes the tests started and left behind
// (kernels, servers, browsers — found by a marker in their environment) are listed and stopped at the end.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';

const root = new URL('..', import.meta.url).pathname;
function collect(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return collect(path);
    return name.endsWith('.test.ts') ? [path] : [];
  });
}
function seconds(variable, fallback) {
  const text = process.env[variable];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!(value > 0)) {
    console.error(`${variable} must be a positive number of seconds, got ${JSON.stringify(text)}`);
    process.exit(2);
  }
  return value;
}

const filters = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const flags = process.argv.slice(2).filter((a) => a.startsWith('-'));
const files = collect(join(root, 'test'))
  .map((f) => relative(root, f))
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort();
if (files.length === 0) {
  console.error(`no test files match ${filters.join(', ')}`);
  process.exit(1);
}
const fileTimeoutS = seconds('MIXPREC_TEST_FILE_TIMEOUT_S', 600);
const deadlineS = seconds('MIXPREC_TEST_DEADLINE_S', 2700);
const marker = randomUUID();

/** Processes (other than this one) whose environment carries this run's marker. */
function leftovers() {
  const found = [];
  for (const pid of readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number)) {
    if (pid === process.pid) continue;
    try {
      if (!readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes(`MIXPREC_TEST_RUN=${marker}`)) continue;
      const command = readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').join(' ').trim();
      if (command) found.push({ pid, command }); // an empty command line is a zombie: nothing to stop
    } catch {
      // gone already, or not ours to read
    }
  }
  return found;
}

function stopLeftovers() {
  if (process.platform !== 'linux') return;
  const left = leftovers();
  if (left.length === 0) return;
  console.error(`\ntest run: ${left.length} process(es) started by the tests were still running; stopping them:`);
  for (const { pid, command } of left) {
    console.error(`  ${pid} ${command.slice(0, 160)}`);
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // exited meanwhile
    }
  }
}

const child = spawn(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-reporter=spec', `--test-timeout=${Math.round(fileTimeoutS * 1000)}`, '--test-force-exit', ...flags, ...files],
  {
    cwd: root,
    stdio: 'inherit',
    detached: true, // its own process group, so that a run past the deadline can be stopped whole
    env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp', MIXPREC_TEST_RUN: marker },
  },
);
const deadline = setTimeout(() => {
  console.error(
    `\ntest run: still running after ${deadlineS} s (MIXPREC_TEST_DEADLINE_S); stopping it. The last file named above is the one that hung.`,
  );
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    child.kill('SIGKILL');
  }
}, deadlineS * 1000);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    try {
      process.kill(-child.pid, signal);
    } catch {
      // already gone
    }
  });
}
child.on('exit', (code, signal) => {
  clearTimeout(deadline);
  // Give processes that are shutting down on their own (kernels noticing their parent is gone) a moment.
  setTimeout(() => {
    stopLeftovers();
    process.exit(code ?? (signal ? 1 : 0));
  }, 1000);
});
