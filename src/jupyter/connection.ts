/** Connection files: how a kernel and its clients find each other's ports and the signing key. */
import * as fs from 'node:fs';
import * as net from 'node:net';
import { randomBytes, randomUUID } from 'node:crypto';
import { writeFileAtomic } from '../util/files';

export interface ConnectionInfo {
  transport: 'tcp' | 'ipc';
  ip: string;
  shell_port: number;
  iopub_port: number;
  stdin_port: number;
  control_port: number;
  hb_port: number;
  key: string;
  signature_scheme: string;
  kernel_name?: string;
}

export const CHANNELS = ['shell', 'iopub', 'stdin', 'control', 'hb'] as const;
export type Channel = (typeof CHANNELS)[number];

export function readConnectionFile(file: string): ConnectionInfo {
  let info: ConnectionInfo;
  try {
    info = JSON.parse(fs.readFileSync(file, 'utf8')) as ConnectionInfo;
  } catch (err) {
    throw new Error(`${file}: cannot read the connection file: ${(err as Error).message}`);
  }
  for (const channel of CHANNELS) {
    const port = info[`${channel}_port`];
    if (!Number.isInteger(port) || port <= 0) throw new Error(`${file}: ${channel}_port must be a port number, got ${JSON.stringify(port)}`);
  }
  if (info.signature_scheme !== 'hmac-sha256' && info.key !== '') {
    throw new Error(`${file}: unsupported signature_scheme ${JSON.stringify(info.signature_scheme)} (only hmac-sha256)`);
  }
  if (typeof info.ip !== 'string' || info.ip === '') throw new Error(`${file}: ip missing`);
  return { ...info, transport: info.transport ?? 'tcp' };
}

export function endpoint(info: ConnectionInfo, channel: Channel): string {
  const port = info[`${channel}_port`];
  return info.transport === 'ipc' ? `ipc://${info.ip}-${port}` : `tcp://${info.ip}:${port}`;
}

/**
 * Ports this process handed out lately. A port is free when chosen but not bound until the kernel starts, so two
 * kernels started at once could otherwise be given the same one (jupyter_client keeps the same kind of cache).
 */
const recentlyHandedOut = new Set<number>();
const REMEMBERED_PORTS = 500;

async function freePort(ip: string): Promise<number> {
  for (;;) {
    const port = await unboundPort(ip);
    if (recentlyHandedOut.has(port)) continue;
    recentlyHandedOut.add(port);
    if (recentlyHandedOut.size > REMEMBERED_PORTS) recentlyHandedOut.delete(recentlyHandedOut.values().next().value!);
    return port;
  }
}

async function unboundPort(ip: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, ip, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** A fresh connection (five free ports on loopback, a random key), written to `file`. */
export async function createConnectionFile(file: string, kernelName = ''): Promise<ConnectionInfo> {
  const ip = '127.0.0.1';
  const [shell, iopub, stdin, control, hb] = [await freePort(ip), await freePort(ip), await freePort(ip), await freePort(ip), await freePort(ip)];
  const info: ConnectionInfo = {
    transport: 'tcp',
    ip,
    shell_port: shell!,
    iopub_port: iopub!,
    stdin_port: stdin!,
    control_port: control!,
    hb_port: hb!,
    key: randomUUID() + randomBytes(8).toString('hex'),
    signature_scheme: 'hmac-sha256',
    kernel_name: kernelName,
  };
  writeFileAtomic(file, JSON.stringify(info, null, 2));
  return info;
}
