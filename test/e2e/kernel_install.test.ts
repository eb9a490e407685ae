/** `mixprec kernel install / uninstall` to --prefix and the user folder, as `jupyter kernelspec list` sees it. */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { missingPython, ROOT } from '../helpers/jupyter';

const missing = missingPython('jupyter_client', 'jupyter-client');

function run(command: string, args: string[], env: NodeJS.ProcessEnv) {
  return spawnSync(command, args, { encoding: 'utf8', env: { ...process.env, ...env } });
}

describe('kernelspec install', { skip: missing || false }, () => {
  it('installs to a prefix with absolute paths and logos, is listed by jupyter, and uninstalls', () => {
    const prefix = fs.mkdtempSync(path.join(os.tmpdir(), 'mixprec-prefix-'));
    const env = { JUPYTER_PATH: path.join(prefix, 'share', 'jupyter'), JUPYTER_DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'mixprec-data-')) };
    const r = run(
      process.execPath,
      [path.join(ROOT, 'bin', 'mixprec.js'), 'kernel', 'install', '--prefix', prefix, '--name', 'mx-test', '--display-name', 'MX test'],
      env,
    );
    assert.equal(r.status, 0, r.stderr);
    const dir = path.join(prefix, 'share', 'jupyter', 'kernels', 'mx-test');
    const spec = JSON.parse(fs.readFileSync(path.join(dir, 'kernel.json'), 'utf8')) as { argv: string[]; display_name: string; language: string };
    assert.equal(spec.display_name, 'MX test');
    assert.equal(spec.language, 'typescript');
    assert.ok(path.isAbsolute(spec.argv[0]!) && fs.existsSync(spec.argv[0]!), 'node by absolute path');
    assert.ok(fs.existsSync(spec.argv[1]!), 'the kernel script by absolute path');
    assert.equal(spec.argv[2], '{connection_file}');
    for (const logo of ['logo-32x32.png', 'logo-64x64.png', 'logo-svg.svg']) assert.ok(fs.statSync(path.join(dir, logo)).size > 100, logo);
    assert.deepEqual([...fs.readFileSync(path.join(dir, 'logo-64x64.png')).subarray(16, 24)], [0, 0, 0, 64, 0, 0, 0, 64], '64×64 PNG');
    const list = run('jupyter', ['kernelspec', 'list', '--json'], env);
    const listed = JSON.parse(list.stdout) as { kernelspecs: Record<string, { resource_dir: string }> };
    assert.equal(listed.kernelspecs['mx-test']?.resource_dir, dir);
    const un = run(process.execPath, [path.join(ROOT, 'bin', 'mixprec.js'), 'kernel', 'uninstall', '--prefix', prefix, '--name', 'mx-test'], env);
    assert.equal(un.status, 0, un.stderr);
    assert.equal(fs.existsSync(dir), false);
    const again = run(process.execPath, [path.join(ROOT, 'bin', 'mixprec.js'), 'kernel', 'uninstall', '--prefix', prefix, '--name', 'mx-test'], env);
    assert.equal(again.status, 1);
    assert.match(again.stderr, /no kernelspec named mx-test is installed there/);
    const both = run(process.execPath, [path.join(ROOT, 'bin', 'mixprec.js'), 'kernel', 'install', '--user', '--prefix', prefix], env);
    assert.equal(both.status, 2);
    assert.match(both.stderr, /choose one of --user, --sys-prefix, --prefix/);
  });
});
