/** The compiler worker: tslab's converter, warmed up at start, answering convert / complete / inspect / isComplete. */
import { parentPort, workerData } from 'node:worker_threads';
import { loadTslabConverter, setConverterCompilerOptions } from './tslab';
import type { CompilerInit, CompilerRequest, CompilerResponse } from './compiler_protocol';

const init = workerData as CompilerInit;
const started = performance.now();
const tslab = loadTslabConverter();
setConverterCompilerOptions(init.compilerOptions);
const converter = tslab.createConverter({ isJS: false, isBrowser: false });
converter.convert(init.warmUpDeclarations, '0');
parentPort!.postMessage({ id: 0, ready: true, warmUpMs: performance.now() - started } satisfies CompilerResponse);

parentPort!.on('message', (req: CompilerRequest) => {
  let response: CompilerResponse;
  try {
    switch (req.op) {
      case 'convert':
        response = { id: req.id, ok: true, result: converter.convert(req.prevDecl, req.src) };
        break;
      case 'complete':
        response = { id: req.id, ok: true, result: converter.complete(req.prevDecl, req.src, req.position) };
        break;
      case 'inspect':
        response = { id: req.id, ok: true, result: converter.inspect(req.prevDecl, req.src, req.position) ?? null };
        break;
      case 'isComplete':
        response = { id: req.id, ok: true, result: tslab.isCompleteCode(req.src) };
        break;
    }
  } catch (err) {
    response = { id: req.id, ok: false, error: (err as Error).stack ?? String(err) };
  }
  parentPort!.postMessage(response);
});
