/**
 * The browser side of the widget test harness: a page that talks to a real kernel through a Jupyter server with
 * JupyterLab's kernel client (@jupyterlab/services) and shows Jupyter widgets with the ipywidgets project's own
 * widget manager (@jupyter-widgets/html-manager with @jupyter-widgets/controls and base, ipywidgets 8 / protocol 2.1),
 * modelled on ipywidgets' examples/web3. test/helpers/widget_browser.ts bundles it with esbuild and drives it through
 * `window.widgetHarness` (see protocol.ts).
 *
 * The widget packages' CSS is imported from JS, as webpack's style-loader would: the bundler turns each CSS file
 * into a module that adds a <style> element when it is first required (the manager requires the controls' CSS
 * itself, when it loads @jupyter-widgets/controls, and only then).
 */
import * as base from '@jupyter-widgets/base';
import { HTMLManager } from '@jupyter-widgets/html-manager/lib/htmlmanager';
import { KernelManager, ServerConnection, type Kernel, type KernelMessage } from '@jupyterlab/services';
import type { ConnectOptions, ConnectSummary, ExecuteSummary, OutputSummary, WidgetHarnessApi } from './protocol';

const WIDGET_VIEW_MIME = 'application/vnd.jupyter.widget-view+json';

type JsonBundle = Record<string, unknown>;

/** HTMLManager wired to a live kernel, as in ipywidgets' examples/web3 (src/manager.ts). */
class WidgetManager extends HTMLManager {
  constructor(readonly kernel: Kernel.IKernelConnection) {
    super();
    kernel.registerCommTarget(this.comm_target_name, async (comm, msg) => {
      await this.handle_comm_open(new base.shims.services.Comm(comm), msg);
    });
  }

  override async _create_comm(
    target_name: string,
    model_id?: string,
    data?: unknown,
    metadata?: unknown,
    buffers?: ArrayBuffer[] | ArrayBufferView[],
  ): Promise<base.shims.services.Comm> {
    const comm = this.kernel.createComm(target_name, model_id);
    if (data || metadata) comm.open(data as never, metadata as never, buffers);
    return new base.shims.services.Comm(comm);
  }

  override async _get_comm_info(): Promise<Record<string, unknown>> {
    const reply = await this.kernel.requestCommInfo({ target_name: this.comm_target_name });
    return reply.content.status === 'ok' ? reply.content.comms : {};
  }

  /**
   * The manager's own kernel-connect path (what JupyterLab's manager does on a kernel (re)connect): opens the
   * `jupyter.widget.control` comm and sends `request_states`; a kernel without that target (no ipywidgets 8) closes
   * the comm and the manager falls back to comm_info and `request_state` on each widget comm.
   */
  restoreFromKernel(): Promise<void> {
    return this._loadFromKernel();
  }
}

const errors: string[] = [];
let kernelManager: KernelManager | undefined;
let kernel: Kernel.IKernelConnection | undefined;
let manager: WidgetManager | undefined;
let cells = 0;

function note(what: string, error: unknown): string {
  const text = `${what}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`;
  errors.push(text);
  console.error(text);
  return text;
}

window.addEventListener('unhandledrejection', (e) => note('unhandled rejection', e.reason));
window.addEventListener('error', (e) => note('error', e.error ?? e.message));

// eslint-disable-next-line no-control-regex -- ANSI escapes start with ESC
const stripAnsi = (s: string) => s.replace(/\u001b\[[0-9;]*[A-Za-z]/g, '');
const textOf = (value: unknown) => (Array.isArray(value) ? value.join('') : typeof value === 'string' ? value : '');

async function connect(options: ConnectOptions): Promise<ConnectSummary> {
  const baseUrl = options.baseUrl;
  const serverSettings = ServerConnection.makeSettings({
    baseUrl,
    wsUrl: baseUrl.replace(/^http/, 'ws'),
    token: options.token,
    // Browsers cannot put an Authorization header on a WebSocket: the token has to go in its URL. services only
    // does that on its own when the page's host differs from the server's, and here both are 127.0.0.1.
    appendToken: true,
  });
  kernelManager = new KernelManager({ serverSettings });
  await kernelManager.ready;
  kernel = await kernelManager.startNew({ name: options.kernelName });
  manager = new WidgetManager(kernel);
  const info = await kernel.info; // the kernel_info_reply: the kernel is up and the websocket is connected
  await manager.restoreFromKernel();
  return { kernelId: kernel.id, language: info.language_info.name, protocolVersion: info.protocol_version };
}

/** Renders one MIME bundle into `el`; resolves once a widget view (if any) is attached. */
async function renderBundle(bundle: JsonBundle, el: HTMLElement, summary: OutputSummary): Promise<void> {
  const view = bundle[WIDGET_VIEW_MIME] as { model_id?: string } | undefined;
  if (view?.model_id !== undefined && manager) {
    summary.model_id = view.model_id;
    try {
      const model = await manager.get_model(view.model_id);
      const widgetView = await manager.create_view(model);
      await manager.display_view(widgetView as base.DOMWidgetView, el);
      summary.widget_error = '';
      return;
    } catch (error) {
      summary.widget_error = note(`showing widget ${view.model_id}`, error);
      // and fall through to the other representations, as a notebook would show text/plain
    }
  }
  for (const mime of ['image/svg+xml', 'image/png', 'image/jpeg', 'text/html', 'text/plain']) {
    if (!(mime in bundle)) continue;
    const data = textOf(bundle[mime]);
    const part = document.createElement('div');
    part.className = 'output-mime';
    part.dataset.mime = mime;
    if (mime === 'image/png' || mime === 'image/jpeg') {
      const img = document.createElement('img');
      img.src = `data:${mime};base64,${data.replace(/\s/g, '')}`;
      part.appendChild(img);
    } else if (mime === 'text/plain') {
      const pre = document.createElement('pre');
      pre.textContent = stripAnsi(data);
      part.appendChild(pre);
    } else {
      part.innerHTML = data; // a test page showing what the test's own kernel sent
    }
    el.appendChild(part);
    return;
  }
}

async function execute(code: string): Promise<ExecuteSummary> {
  if (!kernel) throw new Error('execute before connect');
  const cell = cells++;
  const area = document.createElement('div');
  area.className = 'cell';
  area.dataset.cell = String(cell);
  const input = document.createElement('pre');
  input.className = 'cell-input';
  input.textContent = code;
  const outputsEl = document.createElement('div');
  outputsEl.className = 'cell-outputs';
  area.append(input, outputsEl);
  document.getElementById('cells')!.appendChild(area);

  const outputs: OutputSummary[] = [];
  const renders: Promise<void>[] = [];
  const byDisplayId = new Map<string, HTMLElement>();
  let clearPending = false;
  const newOutputEl = (type: string) => {
    if (clearPending) {
      outputsEl.replaceChildren();
      clearPending = false;
    }
    const el = document.createElement('div');
    el.className = `output output-${type}`;
    outputsEl.appendChild(el);
    return el;
  };

  const future = kernel.requestExecute({ code, stop_on_error: true });
  const msgId = future.msg.header.msg_id;
  future.onIOPub = (msg: KernelMessage.IIOPubMessage) => {
    if ((msg.parent_header as Partial<KernelMessage.IHeader>).msg_id !== msgId) return; // the future only passes its own
    const type = msg.header.msg_type;
    const content = msg.content as Record<string, unknown>;
    if (type === 'stream') {
      const el = newOutputEl('stream');
      const pre = document.createElement('pre');
      pre.textContent = stripAnsi(textOf(content.text));
      el.dataset.name = String(content.name);
      el.appendChild(pre);
      outputs.push({ output_type: 'stream', mimes: [], name: String(content.name), text: textOf(content.text) });
    } else if (type === 'display_data' || type === 'execute_result' || type === 'update_display_data') {
      const bundle = (content.data ?? {}) as JsonBundle;
      const displayId = (content.transient as { display_id?: string } | undefined)?.display_id;
      const summary: OutputSummary = { output_type: type, mimes: Object.keys(bundle), text: textOf(bundle['text/plain']) };
      outputs.push(summary);
      let el: HTMLElement;
      if (type === 'update_display_data') {
        const shown = displayId === undefined ? undefined : byDisplayId.get(displayId);
        if (!shown) return;
        shown.replaceChildren();
        el = shown;
      } else {
        el = newOutputEl(type);
        if (displayId !== undefined) byDisplayId.set(displayId, el);
      }
      renders.push(renderBundle(bundle, el, summary));
    } else if (type === 'error') {
      const text = `${String(content.ename)}: ${String(content.evalue)}\n${stripAnsi(((content.traceback as string[]) ?? []).join('\n'))}`;
      const el = newOutputEl('error');
      const pre = document.createElement('pre');
      pre.textContent = text;
      el.appendChild(pre);
      outputs.push({ output_type: 'error', mimes: [], text });
    } else if (type === 'clear_output') {
      if ((content as { wait?: boolean }).wait) clearPending = true;
      else outputsEl.replaceChildren();
    }
  };
  const reply = (await future.done) as KernelMessage.IExecuteReplyMsg;
  await Promise.all(renders);
  const status = reply.content.status;
  return {
    status: status === 'ok' || status === 'error' ? status : 'aborted',
    execution_count: 'execution_count' in reply.content ? reply.content.execution_count : null,
    outputs,
    cell,
    msg_id: msgId,
  };
}

async function modelState(modelId: string): Promise<Record<string, unknown>> {
  if (!manager) throw new Error('modelState before connect');
  const model = await manager.get_model(modelId);
  const state = model.serialize(model.get_state(false));
  return JSON.parse(JSON.stringify(state, (_key, value: unknown) => (ArrayBuffer.isView(value) ? null : value))) as Record<string, unknown>;
}

async function shutdown(): Promise<void> {
  const k = kernel;
  kernel = undefined;
  manager = undefined;
  try {
    if (k && !k.isDisposed) await k.shutdown();
  } finally {
    k?.dispose();
    kernelManager?.dispose();
    kernelManager = undefined;
  }
}

const api: WidgetHarnessApi = {
  connect,
  execute,
  modelState,
  modelIds: () => Object.keys((manager as unknown as { _models?: Record<string, unknown> } | undefined)?._models ?? {}),
  shutdown,
  errors,
};
(window as unknown as { widgetHarness: WidgetHarnessApi }).widgetHarness = api;
document.documentElement.dataset.harness = 'ready';
