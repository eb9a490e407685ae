/**
 * What the widget test page (page.ts, in the browser) and its Node driver (test/helpers/widget_browser.ts) exchange
 * through page.evaluate: plain JSON, so types only. This file has no DOM or Node dependency and both sides import it.
 */

/** One output of a cell as the page rendered it. */
export interface OutputSummary {
  output_type: 'stream' | 'display_data' | 'execute_result' | 'error' | 'update_display_data';
  /** The MIME types of a display_data / execute_result bundle, in the kernel's order; [] for streams and errors. */
  mimes: string[];
  /** stream text, the bundle's text/plain, or `ename: evalue` followed by the traceback without ANSI escapes. */
  text: string;
  /** The stream's name (stdout, stderr). */
  name?: string;
  /** The widget model shown, for an application/vnd.jupyter.widget-view+json output. */
  model_id?: string;
  /** Why the widget view could not be shown ('' or absent when it was). */
  widget_error?: string;
}

/** What `execute(code)` resolves with, once the execute_reply and the kernel's idle status have both arrived. */
export interface ExecuteSummary {
  status: 'ok' | 'error' | 'aborted';
  execution_count: number | null;
  outputs: OutputSummary[];
  /** The index of the cell: its outputs are in the page's `[data-cell="<index>"]` element. */
  cell: number;
  /** The msg_id of the execute_request (every output above had it as parent). */
  msg_id: string;
}

export interface ConnectOptions {
  /** The server's base URL, ending in '/'. */
  baseUrl: string;
  token: string;
  kernelName: string;
}

export interface ConnectSummary {
  kernelId: string;
  /** The kernel_info_reply's language_info.name and protocol_version. */
  language: string;
  protocolVersion: string;
}

/** The API the page puts on `window.widgetHarness`. */
export interface WidgetHarnessApi {
  connect(options: ConnectOptions): Promise<ConnectSummary>;
  execute(code: string): Promise<ExecuteSummary>;
  /** The serialized state of a widget model the manager holds (JSON-able attributes only). */
  modelState(modelId: string): Promise<Record<string, unknown>>;
  /** The ids of the widget models the manager holds. */
  modelIds(): string[];
  shutdown(): Promise<void>;
  /** Errors the page caught (rejections in the manager, failed renders), newest last. */
  errors: string[];
}
