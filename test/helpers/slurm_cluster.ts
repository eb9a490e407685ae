/**
 * A real single-node Slurm cluster from Debian's slurm-wlm and munge, started without systemd for one test file and
 * stopped after it: munged as the munge user, slurmctld (fresh state, -c) and slurmd with their own config, ports,
 * pid files and spool in a temporary folder. Clients find it through SLURM_CONF in `env`.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { missingTool } from './jupyter';

export interface SlurmCluster {
  /** The environment for clients (SLURM_CONF). */
  env: NodeJS.ProcessEnv;
  dir: string;
  /** Runs a Slurm client command against the cluster; throws with its output when it fails. */
  run(command: string, ...args: string[]): string;
  stop(): void;
}

/** Why no cluster can be started here ('' when one can). */
export function missingSlurm(): string {
  for (const tool of ['slurmctld', 'slurmd', 'sbatch', 'munged']) {
    const r = spawnSync('sh', ['-c', `command -v ${tool} || test -x /usr/sbin/${tool}`], { encoding: 'utf8' });
    if (r.status !== 0) return missingTool(`${tool} is not installed (apt-get install slurm-wlm munge)`);
  }
  if (process.getuid?.() !== 0 && spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore' }).status !== 0)
    return missingTool('starting slurmd and slurmctld needs root or passwordless sudo');
  return '';
}

/** The command, run as root: directly when this process is root, else through passwordless sudo. */
function asRoot(command: string, args: string[]): [string, string[]] {
  return process.getuid?.() === 0 ? [command, args] : ['sudo', ['-n', command, ...args]];
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

function must(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): string {
  const r = spawnSync(command, args, { encoding: 'utf8', env, timeout: 60_000 });
  if (r.error || r.status !== 0)
    throw new Error(`${command} ${args.join(' ')} failed (${r.error?.message ?? `exit ${r.status}`}): ${r.stderr}${r.stdout}`);
  return r.stdout;
}

function munged(): boolean {
  return spawnSync('munge', ['-n'], { stdio: 'ignore' }).status === 0;
}

/** Polls `check` until it returns true, up to `timeoutMs`. */
export async function until(what: string, check: () => boolean, timeoutMs = 60_000, everyMs = 200): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export async function startSlurmCluster(): Promise<SlurmCluster> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mixprec-slurm-'));
  for (const d of ['state', 'spool', 'log']) fs.mkdirSync(path.join(dir, d));
  // munged is left running at the end: another test file's cluster may be using it (the test runner stops it).
  if (!munged()) {
    // The package makes the key; the socket folder is made by systemd's tmpfiles, which does not run here.
    must(...asRoot('mkdir', ['-p', '/run/munge']));
    must(...asRoot('chown', ['munge:munge', '/run/munge']));
    must(...asRoot('runuser', ['-u', 'munge', '--', '/usr/sbin/munged']));
    await until('munged', munged, 20_000);
  }
  const node = must('slurmd', ['-C']).split('\n')[0]!.trim();
  const host = /NodeName=(\S+)/.exec(node)![1]!;
  const [ctlPort, dPort] = [await freePort(), await freePort()];
  const conf = path.join(dir, 'slurm.conf');
  fs.writeFileSync(
    conf,
    [
      'ClusterName=mixprec-test',
      // Addresses given, so that nothing depends on the machine's name resolving.
      `SlurmctldHost=${host}(127.0.0.1)`,
      'SlurmUser=root',
      `SlurmctldPort=${ctlPort}`,
      `SlurmdPort=${dPort}`,
      'AuthType=auth/munge',
      // Requeued jobs wait for the credential of the last run to expire (default 120 s).
      'AuthInfo=cred_expire=10',
      `StateSaveLocation=${dir}/state`,
      `SlurmdSpoolDir=${dir}/spool`,
      `SlurmctldPidFile=${dir}/slurmctld.pid`,
      `SlurmdPidFile=${dir}/slurmd.pid`,
      `SlurmctldLogFile=${dir}/log/slurmctld.log`,
      `SlurmdLogFile=${dir}/log/slurmd.log`,
      'ProctrackType=proctrack/linuxproc',
      'TaskPlugin=task/none',
      'SelectType=select/cons_tres',
      'SelectTypeParameters=CR_Core',
      'SchedulerParameters=batch_sched_delay=0,sched_interval=1',
      'MailProg=/bin/true',
      // Finished jobs stay readable for an hour: there is no accounting database here.
      'MinJobAge=3600',
      'ReturnToService=2',
      'JobAcctGatherType=jobacct_gather/none',
      'AccountingStorageType=accounting_storage/none',
      'KillWait=10',
      // The node as `slurmd -C` describes it, with 8 CPUs instead of this VM's 2 (config_overrides lets slurmd accept
      // that): so a sweep's --max-parallel, not the node's size, is what holds tasks back.
      'SlurmdParameters=config_overrides',
      `${node.replace(/CPUs=\d+ Boards=\d+ SocketsPerBoard=\d+ CoresPerSocket=\d+ ThreadsPerCore=\d+/, 'CPUs=8 Boards=1 SocketsPerBoard=1 CoresPerSocket=8 ThreadsPerCore=1')} NodeAddr=127.0.0.1 State=UNKNOWN`,
      `PartitionName=debug Nodes=${host} Default=YES MaxTime=INFINITE State=UP`,
      '',
    ].join('\n'),
  );
  const env = { ...process.env, SLURM_CONF: conf };
  must(...asRoot('slurmctld', ['-c', '-f', conf]), env);
  must(...asRoot('slurmd', ['-f', conf]), env);
  const stop = () => {
    spawnSync('scancel', ['--full', '--user', os.userInfo().username], { env, stdio: 'ignore' });
    for (const daemon of ['slurmd', 'slurmctld']) {
      const pidFile = path.join(dir, `${daemon}.pid`);
      if (!fs.existsSync(pidFile)) continue;
      const pid = fs.readFileSync(pidFile, 'utf8').trim();
      spawnSync(...asRoot('kill', ['-TERM', pid]), { stdio: 'ignore' }); // fails only when it is gone already
    }
  };
  try {
    await until(
      'the Slurm node to be idle',
      () => {
        const r = spawnSync('sinfo', ['--noheader', '--format=%T'], { encoding: 'utf8', env });
        return r.status === 0 && r.stdout.trim() === 'idle';
      },
      60_000,
    );
  } catch (err) {
    const log = (f: string) => (fs.existsSync(f) ? fs.readFileSync(f, 'utf8').split('\n').slice(-15).join('\n') : '');
    stop();
    throw new Error(`${(err as Error).message}\nslurmctld:\n${log(`${dir}/log/slurmctld.log`)}\nslurmd:\n${log(`${dir}/log/slurmd.log`)}`);
  }
  return { env, dir, run: (command, ...args) => must(command, args, env), stop };
}
