/** Where this package lives and which version it is (for kernel banners, notebook metadata and reports). */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The package root (where dist/ and node_modules/ are): two levels above both src/util and dist/util. */
export const PACKAGE_ROOT = path.resolve(__dirname, '..', '..');

let version: string | undefined;
export function packageVersion(): string {
  return (version ??= (JSON.parse(fs.readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version);
}
