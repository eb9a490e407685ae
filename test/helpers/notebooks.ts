/** Building small notebooks for tests, and validating notebooks with Debian's nbformat. */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { PYTHON } from './jupyter';

export interface NotebookJson {
  cells: {
    cell_type: string;
    source: string | string[];
    metadata: Record<string, unknown>;
    outputs?: Record<string, unknown>[];
    execution_count?: number | null;
  }[];
  metadata: Record<string, unknown>;
  nbformat: number;
  nbformat_minor: number;
}

export const MIXPREC_KERNEL = { name: 'mixprec', display_name: 'TypeScript (mixprec)', language: 'typescript' };
export const PYTHON_KERNEL = { name: 'python3', display_name: 'Python 3 (ipykernel)', language: 'python' };

/** A cell: code source, or a cell with tags / another type. */
export type CellSpec = string | { source: string; tags?: string[]; type?: 'code' | 'markdown' | 'raw' };

export function codeNotebook(cells: CellSpec[], kernel = MIXPREC_KERNEL): NotebookJson {
  return {
    cells: cells.map((c) => {
      const { source, tags, type = 'code' }: { source: string; tags?: string[]; type?: string } = typeof c === 'string' ? { source: c } : c;
      const metadata = tags ? { tags } : {};
      return type === 'code' ? { cell_type: 'code', source, metadata, outputs: [], execution_count: null } : { cell_type: type, source, metadata };
    }),
    metadata: { kernelspec: kernel, language_info: { name: kernel.language } },
    nbformat: 4,
    nbformat_minor: 5,
  };
}

export function writeNotebook(file: string, nb: NotebookJson): void {
  fs.writeFileSync(file, JSON.stringify(nb, null, 1));
}

export function readNotebook(file: string): NotebookJson {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as NotebookJson;
}

/** nbformat.validate of the file (v4); returns '' when valid, the validator's message otherwise. */
export function nbformatProblems(file: string): string {
  const r = spawnSync(PYTHON, ['-c', 'import nbformat, sys; nbformat.validate(nbformat.read(sys.argv[1], as_version=4))', file], {
    encoding: 'utf8',
  });
  return r.status === 0 ? '' : r.stderr.trim().split('\n').slice(-3).join('\n');
}

export const outputsOf = (nb: NotebookJson, cell: number) => nb.cells[cell]!.outputs ?? [];
export const textOf = (source: string | string[]) => (Array.isArray(source) ? source.join('') : source);
