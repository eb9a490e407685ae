/**
 * The Output widget: an area that shows what code prints and displays while it captures. As in ipywidgets, capture
 * sets the model's msg_id to the request being handled (the cell, or the comm message of a click); the frontend's
 * Output model then takes every IOPub output with that parent into itself instead of the cell.
 */
import { commManager } from '../comm';
import { display } from '../display';
import { DOMWidget } from './controls';
import { json, str } from './traits';
import { defineWidget, OUTPUT_MODULE, OUTPUT_VERSION } from './widget';

export class Output extends DOMWidget {
  declare msgId: string;
  /** Outputs kept in the model (as the frontend or a saved notebook fills them). */
  declare outputs: Record<string, unknown>[];
  private readonly capturing: string[] = [];

  constructor(options: Partial<{ layout: DOMWidget['layout']; outputs: Record<string, unknown>[] }> = {}) {
    super(options);
  }

  /**
   * Runs `fn` with what it prints and displays shown in this widget; resolves with its result. Captures nest, and the
   * output written before and during `fn` is sent before the capture ends, so none of it lands in the wrong place.
   */
  async capture<T>(fn: () => T | Promise<T>): Promise<T> {
    const transport = commManager()?.transport;
    if (transport === undefined) return await fn();
    await transport.flush();
    const id = transport.parentMsgId();
    this.capturing.push(id);
    this.msgId = id;
    try {
      return await fn();
    } finally {
      await transport.flush();
      this.capturing.pop();
      this.msgId = this.capturing.at(-1) ?? '';
    }
  }

  /** Clears what the widget shows (with wait: when the next output arrives). */
  async clear(wait = false): Promise<void> {
    await this.capture(() => display.clear(wait));
  }
}
defineWidget(Output, {
  modelName: 'OutputModel',
  modelModule: OUTPUT_MODULE,
  modelModuleVersion: OUTPUT_VERSION,
  viewName: 'OutputView',
  viewModule: OUTPUT_MODULE,
  viewModuleVersion: OUTPUT_VERSION,
  traits: { msgId: str(''), outputs: json<Record<string, unknown>[]>(() => []) },
});
