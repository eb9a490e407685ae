/** Dataset failures: one error per problem, naming the file and what is wrong with it. */

/**
 * A dataset file that cannot be used: missing, unreadable, truncated, of the wrong kind, or with contents that break
 * the format. The message is `<file>: <problem>`; `file` and `problem` carry the two parts for callers that format
 * their own.
 */
export class DatasetError extends Error {
  constructor(
    readonly file: string,
    readonly problem: string,
    options?: { cause?: unknown },
  ) {
    super(`${file}: ${problem}`, options);
    this.name = 'DatasetError';
  }
}

/**
 * The DatasetError for a failure while working on `file`: a DatasetError passes through unchanged (it already names
 * its file), a system error becomes its short description (`no such file`, `permission denied`, …), anything else
 * its message.
 */
export function asDatasetError(file: string, err: unknown, doing?: string): DatasetError {
  if (err instanceof DatasetError) return err;
  const prefix = doing === undefined ? '' : `${doing}: `;
  return new DatasetError(file, `${prefix}${describeError(err)}`, { cause: err });
}

function describeError(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  switch (code) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'is a directory, expected a file';
    case 'ENOTDIR':
      return 'a parent of this path is not a directory';
    case 'Z_BUF_ERROR':
      return 'truncated gzip data (unexpected end of file)';
    case 'Z_DATA_ERROR':
      return `corrupt gzip data (${(err as Error).message})`;
    default:
      return err instanceof Error ? err.message : String(err);
  }
}
