/**
 * Converters from the distribution formats of MNIST-like sets (IDX), Fashion-MNIST (IDX, as the Debian package
 * `dataset-fashion-mnist` installs it) and CIFAR-10 (binary batches) to the mixprec Arrow format: two files,
 * `<name>-train.arrow` and `<name>-test.arrow`, in `outDir`. Both splits are written to temporary files and renamed
 * into place only when both are complete, so a failed conversion leaves the output folder as it was.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createDatasetWriter, type DatasetFileWriter, type ExampleChunk, type WriteOptions } from './arrow_writer';
import { CIFAR10_CLASSES, CIFAR10_SHAPE, CIFAR10_TEST_FILES, CIFAR10_TRAIN_FILES, readCifarBatch } from './cifar';
import { DatasetError } from './errors';
import { checkDirCreatable } from '../util/files';
import { readIdxImages, readIdxLabels } from './idx';
import type { ImageShape, Split } from './schema';

export type ConvertFormat = 'idx' | 'fashion-mnist' | 'cifar10';
export const CONVERT_FORMATS: readonly ConvertFormat[] = ['idx', 'fashion-mnist', 'cifar10'];

export const MNIST_CLASSES: readonly string[] = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];
export const FASHION_MNIST_CLASSES: readonly string[] = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
];
/** Where Debian's `dataset-fashion-mnist` package puts the files. */
export const FASHION_MNIST_DEBIAN_DIR = '/usr/share/datasets/fashion-mnist';

export interface ConvertOptions extends WriteOptions {
  format: ConvertFormat;
  /**
   * The folder with the source files: for `idx` and `fashion-mnist`, `{train,t10k}-{images-idx3,labels-idx1}-ubyte`
   * (or `…images.idx3-ubyte`), each optionally `.gz`; for `cifar10`, `data_batch_1.bin` … `data_batch_5.bin` and
   * `test_batch.bin` (or their `cifar-10-batches-bin` subfolder). Default for `fashion-mnist`: the Debian package's
   * folder; required otherwise.
   */
  input?: string;
  /** Folder for the two Arrow files (created if missing). */
  outDir: string;
  /** File name stem (default: `mnist`, `fashion-mnist`, `cifar10`). */
  name?: string;
  /** Class names for `idx` (default: the digits 0–9); the other formats have theirs. */
  classes?: readonly string[];
  /** The `mixprec.source` metadata (default: the format and the source file names). */
  source?: string;
  /** Called after each chunk of examples is written. */
  onProgress?: (progress: { split: Split; rows: number }) => void;
}

export interface ConvertedSplit {
  split: Split;
  file: string;
  rows: number;
}

export interface ConvertResult {
  name: string;
  /** The written files, train then test. */
  files: string[];
  splits: ConvertedSplit[];
}

/** What a converter produces for one split: its shape, source files and a lazy sequence of example chunks. */
interface SplitSource {
  shape: ImageShape;
  sourceFiles: string[];
  chunks(): Iterable<ExampleChunk>;
}

/** Converts a dataset to `<outDir>/<name>-train.arrow` and `<outDir>/<name>-test.arrow`. */
export async function convertDataset(options: ConvertOptions): Promise<ConvertResult> {
  const { format } = options;
  if (!CONVERT_FORMATS.includes(format)) throw new RangeError(`unknown dataset format "${String(format)}" (formats: ${CONVERT_FORMATS.join(', ')})`);
  const input = options.input ?? (format === 'fashion-mnist' ? FASHION_MNIST_DEBIAN_DIR : undefined);
  if (input === undefined) throw new RangeError(`the ${format} converter needs an input folder`);
  requireDirectory(input);
  const name = options.name ?? { idx: 'mnist', 'fashion-mnist': 'fashion-mnist', cifar10: 'cifar10' }[format];
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) throw new RangeError(`dataset name "${name}" must be letters, digits, '.', '_' or '-'`);
  checkDirCreatable(options.outDir); // before the sources are read
  const classes = format === 'idx' ? (options.classes ?? MNIST_CLASSES) : format === 'fashion-mnist' ? FASHION_MNIST_CLASSES : CIFAR10_CLASSES;
  const sourceFor = (split: Split) => (format === 'cifar10' ? cifarSplit(input, split) : idxSplit(input, split, classes.length));

  const writers: DatasetFileWriter[] = [];
  try {
    const splits: ConvertedSplit[] = [];
    for (const split of ['train', 'test'] as const) {
      const source = sourceFor(split);
      const file = path.join(options.outDir, `${name}-${split}.arrow`);
      const described = options.source ?? `${format}: ${source.sourceFiles.map((f) => path.basename(f)).join(', ')}`;
      const writer = createDatasetWriter(file, { shape: source.shape, classes, source: described, split }, options);
      writers.push(writer);
      for (const chunk of source.chunks()) {
        writer.write(chunk);
        options.onProgress?.({ split, rows: writer.rows });
      }
      splits.push({ split, file, rows: writer.rows });
    }
    for (const writer of writers) writer.commit();
    return { name, files: splits.map((s) => s.file), splits };
  } catch (err) {
    for (const writer of writers) writer.abort();
    throw err;
  }
}

function requireDirectory(dir: string): void {
  let stats: fs.Stats;
  try {
    stats = fs.statSync(dir);
  } catch {
    throw new DatasetError(dir, 'no such folder');
  }
  if (!stats.isDirectory()) throw new DatasetError(dir, 'is a file, expected the folder that holds the dataset files');
}

/** The first of `names` that exists in `dir`, or an error listing them. */
function findFile(dir: string, names: readonly string[], what: string): string {
  for (const name of names) {
    const file = path.join(dir, name);
    if (fs.existsSync(file)) return file;
  }
  throw new DatasetError(dir, `no ${what} file (looked for ${names.join(', ')})`);
}

function idxSplit(dir: string, split: Split, numClasses: number): SplitSource {
  const prefix = split === 'train' ? 'train' : 't10k';
  const variants = (kind: string, dims: string) =>
    [`${prefix}-${kind}-${dims}-ubyte`, `${prefix}-${kind}.${dims}-ubyte`].flatMap((n) => [n, `${n}.gz`]);
  const imagesFile = findFile(dir, variants('images', 'idx3'), `${split} images`);
  const labelsFile = findFile(dir, variants('labels', 'idx1'), `${split} labels`);
  const images = readIdxImages(imagesFile);
  const labels = readIdxLabels(labelsFile, numClasses);
  if (labels.length !== images.count)
    throw new DatasetError(labelsFile, `holds ${labels.length} labels but ${path.basename(imagesFile)} holds ${images.count} images`);
  return {
    shape: [images.rows, images.cols, 1],
    sourceFiles: [imagesFile, labelsFile],
    chunks: () => [{ images: images.pixels, labels }],
  };
}

function cifarSplit(input: string, split: Split): SplitSource {
  const nested = path.join(input, 'cifar-10-batches-bin');
  const dir = !fs.existsSync(path.join(input, CIFAR10_TEST_FILES[0]!)) && fs.existsSync(nested) ? nested : input;
  const names = split === 'train' ? CIFAR10_TRAIN_FILES : CIFAR10_TEST_FILES;
  const files = names.map((name) => findFile(dir, [name], `CIFAR-10 ${split} batch`));
  return {
    shape: CIFAR10_SHAPE,
    sourceFiles: files,
    // One 30 MB batch file in memory at a time.
    *chunks() {
      for (const file of files) yield readCifarBatch(file);
    },
  };
}
