/**
 * From IOPub messages to cell outputs, with nbclient's semantics: execute_input sets the execution count,
 * clear_output(wait) clears before the next output, update_display_data rewrites every output carrying the display id
 * (in any cell run so far), comm messages are not outputs but the widgets' last states are kept in the notebook's
 * metadata (`widgets` → `application/vnd.jupyter.widget-state+json`, as nbclient stores them), so that a saved notebook
 * shows its widgets where a viewer supports it. Consecutive stream outputs of one stream are merged, as
 * notebook frontends show them (how a kernel batches its streams depends on timing).
 */
import type { JupyterMessage } from '../jupyter/message';
import type { Notebook, NotebookCell, NotebookOutput } from './notebook';

type Content = Record<string, unknown>;

const WIDGET_TARGET = 'jupyter.widget';
/** The notebook metadata key of saved widget state (nbformat / ipywidgets). */
export const WIDGET_STATE_MIME = 'application/vnd.jupyter.widget-state+json';

interface WidgetEntry {
  model_name: string;
  model_module: string;
  model_module_version: string;
  state: Content;
  /** By path (JSON), the latest bytes. */
  buffers: Map<string, { path: unknown[]; data: string }>;
}

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
  /** Open widget models: their names and last state, binary values as base64 buffers. */
  private readonly widgets = new Map<string, WidgetEntry>();
  /**
   * Output widgets capturing now, by the msg_id they capture (nbclient's emulation of the frontend's Output model):
   * the outputs of that request go into the widget's state, not into the cell.
   */
  private readonly capturing = new Map<string, string>();
  private widgetClearBeforeNext = new Set<string>();

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
    if (type.startsWith('comm')) {
      this.trackWidget(msg);
      return undefined;
    }
    const captor = this.capturing.get(String(msg.parent_header.msg_id ?? ''));
    if (captor !== undefined && this.widgets.has(captor)) return this.applyToOutputWidget(captor, msg);
    if (typeof displayId === 'string' && (type === 'display_data' || type === 'execute_result' || type === 'update_display_data')) {
      this.updateDisplay(displayId, msg);
    }
    if (typeof content.execution_count === 'number') cell.execution_count = content.execution_count;
    if (type === 'clear_output') {
      if (content.wait === true) this.clearBeforeNext = true;
      else this.clear(index, outputs);
      return undefined;
    }
    if (type === 'execute_input' || type === 'update_display_data') return undefined;
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

  /** An output of a request an Output widget captures: into the widget's `outputs` (and the saved widget state). */
  private applyToOutputWidget(modelId: string, msg: JupyterMessage): undefined {
    const w = this.widgets.get(modelId)!;
    const outputs = (Array.isArray(w.state.outputs) ? w.state.outputs : (w.state.outputs = [])) as NotebookOutput[];
    const content = msg.content as Content;
    if (msg.header.msg_type === 'clear_output') {
      if (content.wait === true) this.widgetClearBeforeNext.add(modelId);
      else outputs.length = 0;
    } else {
      const out = outputFromMessage(msg);
      if (out === undefined || msg.header.msg_type === 'update_display_data') return undefined;
      if (this.widgetClearBeforeNext.delete(modelId)) outputs.length = 0;
      const last = outputs.at(-1);
      if (out.output_type === 'stream' && last?.output_type === 'stream' && last.name === out.name)
        last.text = `${last.text as string}${out.text as string}`;
      else outputs.push(out);
    }
    this.saveWidgets();
    return undefined;
  }

  private trackWidget(msg: JupyterMessage): void {
    const c = msg.content as Content;
    const id = typeof c.comm_id === 'string' ? c.comm_id : undefined;
    if (id === undefined) return;
    const data = (c.data ?? {}) as Content;
    const type = msg.header.msg_type;
    if (type === 'comm_open') {
      if (c.target_name !== WIDGET_TARGET) return;
      const state = (data.state ?? {}) as Content;
      this.widgets.set(id, {
        model_name: String(state._model_name ?? ''),
        model_module: String(state._model_module ?? ''),
        model_module_version: String(state._model_module_version ?? ''),
        state: { ...state },
        buffers: new Map(),
      });
      this.mergeBuffers(id, data.buffer_paths, msg.buffers);
    } else if (type === 'comm_msg') {
      const w = this.widgets.get(id);
      if (w === undefined || (data.method !== 'update' && data.method !== 'echo_update')) return;
      const update = (data.state ?? {}) as Content;
      Object.assign(w.state, update);
      this.mergeBuffers(id, data.buffer_paths, msg.buffers);
      if (w.model_name === 'OutputModel' && typeof update.msg_id === 'string') {
        for (const [captured, model] of this.capturing) if (model === id) this.capturing.delete(captured);
        if (update.msg_id !== '') this.capturing.set(update.msg_id, id);
      }
    } else if (type === 'comm_close') {
      if (!this.widgets.delete(id)) return;
    } else return;
    this.saveWidgets();
  }

  private saveWidgets(): void {
    this.nb.metadata.widgets = {
      [WIDGET_STATE_MIME]: {
        version_major: 2,
        version_minor: 0,
        state: Object.fromEntries(
          [...this.widgets].map(([modelId, w]) => [
            modelId,
            {
              model_name: w.model_name,
              model_module: w.model_module,
              model_module_version: w.model_module_version,
              state: w.state,
              ...(w.buffers.size > 0 ? { buffers: [...w.buffers.values()].map((b) => ({ encoding: 'base64', path: b.path, data: b.data })) } : {}),
            },
          ]),
        ),
      },
    };
  }

  private mergeBuffers(id: string, paths: unknown, buffers: readonly Buffer[]): void {
    const w = this.widgets.get(id);
    if (w === undefined || !Array.isArray(paths)) return;
    paths.forEach((path, i) => {
      const b = buffers[i];
      if (Array.isArray(path) && b !== undefined) w.buffers.set(JSON.stringify(path), { path, data: b.toString('base64') });
    });
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
