/**
 * From IOPub messages to cell outputs, with nbclient's semantics: execute_input sets the execution count,
 * clear_output(wait) clears before the next output, update_display_data rewrites every output carrying the display id
 * (in any cell run so far), comm messages are not outputs. Consecutive stream outputs of one stream are merged, as
 * notebook frontends show them (how a kernel batches its streams depends on timing).
 */
import type { JupyterMessage } from '../jupyter/message';
import type { Notebook, NotebookCell, NotebookOutput } from './notebook';

type Content = Record<string, unknown>;

/** The nbformat output of an IOPub message, or undefined for messages that are not outputs. */
export function outputFromMessage(msg: JupyterMessage): NotebookOutput | undefined {
  const c = msg.content as Content;
  switch (msg.header.msg_type) {
    case 'stream':
      return { output_type: 'stream', name: c.name, text: c.text };
    case 'display_data':
    case 'update_display_data':
      return { output_type: 'display_data', data: c.data ?? {}, metadata: c.metadata ?? {} };
    case 'execute_result':
      return { output_type: 'execute_result', data: c.data ?? {}, metadata: c.metadata ?? {}, execution_count: c.execution_count ?? null };
    case 'error':
      return { output_type: 'error', ename: c.ename, evalue: c.evalue, traceback: c.traceback ?? [] };
    default:
      return undefined;
  }
}

/** Collects the outputs of a notebook's cells as their messages arrive. One per notebook run. */
export class OutputCollector {
  /** display_id → cell index → indices of outputs in that cell carrying it. */
  private readonly displays = new Map<string, Map<number, number[]>>();
  private clearBeforeNext = false;

  constructor(private readonly nb: Notebook) {}

  /** Starts a cell: its outputs are emptied. */
  begin(cell: NotebookCell): void {
    cell.outputs = [];
    this.clearBeforeNext = false;
  }

  /** Applies one IOPub message of the cell at `index`; returns the output it appended, if any. */
  apply(index: number, msg: JupyterMessage): NotebookOutput | undefined {
    const cell = this.nb.cells[index]!;
    const outputs = (cell.outputs ??= []);
    const type = msg.header.msg_type;
    const content = msg.content as Content;
    const displayId = (content.transient as { display_id?: unknown } | undefined)?.display_id;
    if (typeof displayId === 'string' && (type === 'display_data' || type === 'execute_result' || type === 'update_display_data')) {
      this.updateDisplay(displayId, msg);
    }
    if (typeof content.execution_count === 'number') cell.execution_count = content.execution_count;
    if (type === 'clear_output') {
      if (content.wait === true) this.clearBeforeNext = true;
      else this.clear(index, outputs);
      return undefined;
    }
    if (type === 'execute_input' || type === 'update_display_data' || type.startsWith('comm')) return undefined;
    const out = outputFromMessage(msg);
    if (!out) return undefined;
    if (this.clearBeforeNext) {
      this.clear(index, outputs);
      this.clearBeforeNext = false;
    }
    const last = outputs.at(-1);
    if (out.output_type === 'stream' && last?.output_type === 'stream' && last.name === out.name) {
      last.text = `${last.text as string}${out.text as string}`;
      return last;
    }
    if (typeof displayId === 'string') {
      const cells = this.displays.get(displayId) ?? new Map<number, number[]>();
      this.displays.set(displayId, cells);
      cells.set(index, [...(cells.get(index) ?? []), outputs.length]);
    }
    outputs.push(out);
    return out;
  }

  private clear(index: number, outputs: NotebookOutput[]): void {
    outputs.length = 0;
    for (const cells of this.displays.values()) if (cells.has(index)) cells.set(index, []);
  }

  private updateDisplay(displayId: string, msg: JupyterMessage): void {
    const cells = this.displays.get(displayId);
    if (!cells) return;
    const content = msg.content as Content;
    for (const [cellIndex, indices] of cells) {
      const outputs = this.nb.cells[cellIndex]!.outputs ?? [];
      for (const i of indices) {
        const target = outputs[i];
        if (!target) continue;
        target.data = content.data ?? {};
        target.metadata = content.metadata ?? {};
      }
    }
  }
}
