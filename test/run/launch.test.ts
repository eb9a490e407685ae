/**
 * Starting kernels when a port is taken: a port chosen free can be taken by another process before the kernel binds
 * it. The kernel must then exit at once saying which channel and address (not sit half-started until the client's
 * start-up timeout), and launchKernel starts it again on fresh ports; a kernel that says so and stays up (Debian's
 * ipykernel) is stopped and started again too. Real kernels, real sockets.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { createConnectionFile } from '../../src/jupyter/connection';
import { launchKernel } from '../../src/run/launch';
import { mixprecKernelSpec } from '../../src/kernel/install';
import { missingPython, PYTHON } from '../helpers/jupyter';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'mixprec-launch-'));
const KERNEL_MAIN = mixprecKernelSpec().argv[1]!;

/** Listens on `port` of loopback until closed, as another program holding it would. */
async function occupy(port: number): Promise<net.Server> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', resolve));
  return server;
}

describe('a kernel whose port is taken', () => {
  for (const channel of ['hb', 'control', 'shell', 'iopub'] as const) {
    it(`exits at once naming the ${channel} channel and its address (the ${channel === 'hb' || channel === 'control' ? 'control thread' : 'main thread'} binds it)`, async () => {
      const file = path.join(work, `${channel}.json`);
      const info = await createConnectionFile(file);
      const port = info[`${channel}_port`];
      const holder = await occupy(port);
      try {
        const child = spawn(process.execPath, [KERNEL_MAIN, file], {
          stdio: ['ignore', 'ignore', 'pipe'],
          env: { ...process.env, MIXPREC_BACKEND: 'cpu' },
        });
        let stderr = '';
        child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
        const exit = await new Promise<{ code: number | null; signal: string | null } | 'running'>((resolve) => {
          const timer = setTimeout(() => {
            child.kill('SIGKILL');
            resolve('running');
          }, 30_000);
          child.on('exit', (code, signal) => {
            clearTimeout(timer);
            resolve({ code, signal });
          });
        });
        assert.notEqual(exit, 'running', `the kernel was still running 30 s after it could not bind ${channel}; stderr: ${stderr}`);
        assert.deepEqual(exit, { code: 1, signal: null }, stderr);
        assert.match(
          stderr,
          new RegExp(
            `^mixprec kernel failed to start: Error: cannot open the ${channel} channel at tcp://127\\.0\\.0\\.1:${port}: .*(in use|EADDRINUSE)`,
            'i',
          ),
        );
      } finally {
        holder.close();
      }
    });
  }

  it('is started again on fresh ports by launchKernel, and then runs cells', async () => {
    // A kernelspec whose first start holds the heartbeat port before the real kernel binds it, as a racing process
    // would; later starts run the kernel as is.
    const attempts = path.join(work, 'attempts');
    const wrapper = path.join(work, 'wrapper.js');
    fs.writeFileSync(
      wrapper,
      `
const fs = require('fs'), net = require('net'), { spawn } = require('child_process');
const [main, file, attempts] = process.argv.slice(2);
fs.appendFileSync(attempts, 'x');
const run = () => spawn(process.execPath, [main, file], { stdio: 'inherit' }).on('exit', (code) => process.exit(code ?? 1));
if (fs.readFileSync(attempts, 'utf8').length > 1) run();
else net.createServer().listen(JSON.parse(fs.readFileSync(file, 'utf8')).hb_port, '127.0.0.1', run);
`,
    );
    const spec = {
      ...mixprecKernelSpec(),
      argv: [process.execPath, wrapper, KERNEL_MAIN, '{connection_file}', attempts],
      env: { MIXPREC_BACKEND: 'cpu' },
    };
    const lines: string[] = [];
    const kernel = await launchKernel({ name: 'mixprec', resourceDir: '', spec }, { stderr: 'pipe', onStderr: (l) => lines.push(l) });
    try {
      assert.equal(fs.readFileSync(attempts, 'utf8'), 'xx');
      assert.ok(
        lines.some((l) => /cannot open the hb channel at .*(in use|EADDRINUSE)/i.test(l)),
        lines.join('\n'),
      );
      const { done } = kernel.client.execute('6 * 7');
      const result = await done;
      assert.equal(result.reply.content.status, 'ok');
      const value = result.outputs.find((m) => m.header.msg_type === 'execute_result');
      assert.equal((value?.content.data as Record<string, string> | undefined)?.['text/plain'], '42');
    } finally {
      await kernel.shutdown();
    }
  });

  it('is not started again when it exits at start for another reason, and the error says how it exited', async () => {
    const attempts = path.join(work, 'attempts-crash');
    const spec = {
      ...mixprecKernelSpec(),
      argv: [
        process.execPath,
        '-e',
        `require('fs').appendFileSync(${JSON.stringify(attempts)}, 'x'); process.stderr.write('no such model\\n'); process.exit(3)`,
        '{connection_file}',
      ],
    };
    const lines: string[] = [];
    await assert.rejects(
      launchKernel({ name: 'crashing', resourceDir: '', spec }, { stderr: 'pipe', onStderr: (l) => lines.push(l) }),
      /^KernelStartError: kernel "crashing" did not start: the kernel exited before it answered \(exit 3\)$/,
    );
    assert.equal(fs.readFileSync(attempts, 'utf8'), 'x');
    assert.deepEqual(lines, ['no such model']);
  });

  it(
    "is stopped and started again when it says a port is taken but stays up (Debian's ipykernel 6)",
    { skip: missingPython('ipykernel', 'python3-ipykernel') || false },
    async () => {
      // The first start: a holder takes the iopub port, then the shell becomes ipykernel on the same connection file
      // (exec, so that the process launchKernel stops is the kernel itself). ipykernel prints ZMQError: Address
      // already in use and keeps running; launchKernel used to wait for its start-up timeout and give up.
      const attempts = path.join(work, 'attempts-ipykernel');
      const held = path.join(work, 'iopub-held');
      const release = path.join(work, 'iopub-release');
      const holder = path.join(work, 'holder.js');
      fs.writeFileSync(
        holder,
        `
const fs = require('fs'), net = require('net');
const [file, held, release] = process.argv.slice(2);
const server = net.createServer().listen(JSON.parse(fs.readFileSync(file, 'utf8')).iopub_port, '127.0.0.1', () => fs.writeFileSync(held, ''));
const deadline = Date.now() + 120000;
const poll = setInterval(() => { if (fs.existsSync(release) || Date.now() > deadline) { clearInterval(poll); server.close(); } }, 50);
`,
      );
      const script = [
        'echo x >> "$2"',
        'if [ "$(wc -l < "$2")" -eq 1 ]; then',
        '  "$3" "$4" "$1" "$5" "$6" &',
        '  until [ -e "$5" ]; do sleep 0.05; done',
        'fi',
        `exec ${PYTHON} -m ipykernel_launcher -f "$1"`,
      ].join('\n');
      const spec = {
        argv: ['/bin/sh', '-c', script, 'sh', '{connection_file}', attempts, process.execPath, holder, held, release],
        display_name: 'Python 3 (ipykernel), first start on a taken port',
        language: 'python',
      };
      const lines: string[] = [];
      try {
        const kernel = await launchKernel({ name: 'python3-taken', resourceDir: '', spec }, { stderr: 'pipe', onStderr: (l) => lines.push(l) });
        try {
          assert.equal(fs.readFileSync(attempts, 'utf8'), 'x\nx\n', 'started twice');
          assert.ok(
            lines.some((l) => /Address already in use/.test(l)),
            lines.join('\n'),
          );
          const result = await kernel.client.execute('6 * 7').done;
          assert.equal(result.reply.content.status, 'ok');
          const value = result.outputs.find((m) => m.header.msg_type === 'execute_result');
          assert.equal((value?.content.data as Record<string, string> | undefined)?.['text/plain'], '42');
        } finally {
          await kernel.shutdown();
        }
      } finally {
        fs.writeFileSync(release, '');
      }
    },
  );
});
