/** `mixprec kernel install / uninstall`: the kernelspec (argv with absolute paths, so any working folder works) and logos. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { kernelsDir, type InstallTarget, type KernelSpec } from '../jupyter/kernelspec';
import { svgToPng } from '../plot/render';
import { PACKAGE_ROOT } from '../util/package';

export const DEFAULT_KERNEL_NAME = 'mixprec';
export const DEFAULT_DISPLAY_NAME = 'TypeScript (mixprec)';

/** The kernelspec of this installation: this Node binary and this package's kernel script. */
export function mixprecKernelSpec(displayName = DEFAULT_DISPLAY_NAME): KernelSpec {
  return {
    argv: [process.execPath, path.join(PACKAGE_ROOT, 'dist', 'kernel', 'main.js'), '{connection_file}'],
    display_name: displayName,
    language: 'typescript',
    interrupt_mode: 'message',
    metadata: { debugger: false, mixprec: { root: PACKAGE_ROOT } },
  };
}

const LOGO_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64">
<rect width="64" height="64" rx="10" fill="#2f6fba"/>
<g fill="#fff">${[2, 4, 8, 3, 6, 5, 7].map((h, i) => `<rect x="${7 + i * 7.3}" y="${52 - h * 5}" width="5" height="${h * 5}"/>`).join('')}</g>
<text x="32" y="16" font-family="DejaVu Sans, sans-serif" font-size="11" font-weight="bold" fill="#fff" text-anchor="middle">TS</text>
</svg>`;

export interface InstallOptions {
  target?: InstallTarget;
  name?: string;
  displayName?: string;
}

/** Writes `<kernels>/<name>/kernel.json` and the logos; returns the folder. */
export function installKernel(o: InstallOptions = {}): string {
  const name = o.name ?? DEFAULT_KERNEL_NAME;
  if (!/^[a-z0-9._-]+$/i.test(name)) throw new Error(`kernel name "${name}" may only contain letters, digits, '.', '_' and '-'`);
  const dir = path.join(kernelsDir(o.target ?? { kind: 'user' }), name.toLowerCase());
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'kernel.json'), `${JSON.stringify(mixprecKernelSpec(o.displayName), null, 2)}\n`);
  fs.writeFileSync(path.join(dir, 'logo-svg.svg'), LOGO_SVG);
  fs.writeFileSync(path.join(dir, 'logo-64x64.png'), svgToPng(LOGO_SVG, 1));
  fs.writeFileSync(path.join(dir, 'logo-32x32.png'), svgToPng(LOGO_SVG, 0.5));
  return dir;
}

/** Removes the kernelspec from the target (default: every data-path location where it is installed and writable). */
export function uninstallKernel(o: { target?: InstallTarget; name?: string } = {}): string[] {
  const name = (o.name ?? DEFAULT_KERNEL_NAME).toLowerCase();
  const targets: InstallTarget[] = o.target ? [o.target] : [{ kind: 'user' }, { kind: 'sys-prefix' }];
  const removed: string[] = [];
  for (const t of targets) {
    const dir = path.join(kernelsDir(t), name);
    if (fs.existsSync(path.join(dir, 'kernel.json'))) {
      fs.rmSync(dir, { recursive: true, force: true });
      removed.push(dir);
    }
  }
  return removed;
}
