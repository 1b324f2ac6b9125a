// The ANE Lens language server: diagnostics, hovers and "▶ Run on ANE" code lenses for Python
// documents. Analysis is debounced per document and results for a superseded version are dropped.
import {
  type CodeAction, CodeActionKind, type CodeLens, type Connection, type Hover, type InitializeResult,
  TextDocumentSyncKind, TextDocuments,
} from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { DEFAULT_CHIP } from '../../../common/chips';
import { analyzePythonDocument, initPythonParser, type PythonAnalysis } from '../python/analyzePython';
import { hoverFor, quickFixes, runLenses, toDiagnostic } from './protocolViews';

/** Delay after the last keystroke before re-analysing; short enough to feel live. */
const CHANGE_DEBOUNCE_MS = 150;

interface Cached { version: number; analysis: PythonAnalysis }

export function startServer(connection: Connection): void {
  const documents = new TextDocuments(TextDocument);
  const cache = new Map<string, Cached>();
  const timers = new Map<string, NodeJS.Timeout>();
  const chipByUri = new Map<string, string>();
  let configurationSupported = false;
  /** Chip from settings pushed in didChangeConfiguration, for clients that do not answer workspace/configuration. */
  let pushedChip: string | undefined;
  let shuttingDown = false;

  const log = (message: string) => {
    try { connection.console.log(`[ANE Lens] ${message}`); } catch { /* connection already gone */ }
  };
  const logError = (where: string, error: unknown) => {
    const text = error instanceof Error ? `${error.message}\n${error.stack ?? ''}` : String(error);
    try { connection.console.error(`[ANE Lens] ${where}: ${text}`); } catch { /* connection already gone */ }
  };

  /** Runs a request handler, turning any throw into a logged error and a neutral answer. */
  const guard = <P, R>(name: string, fallback: R, handler: (params: P) => Promise<R> | R) =>
    async (params: P): Promise<R> => {
      try {
        return await handler(params);
      } catch (error) {
        logError(name, error);
        return fallback;
      }
    };

  const isPython = (doc: TextDocument) => doc.languageId === 'python';

  async function chipFor(uri: string): Promise<string> {
    const known = chipByUri.get(uri);
    if (known) return known;
    let chip = pushedChip ?? DEFAULT_CHIP;
    if (configurationSupported) {
      try {
        const section = await connection.workspace.getConfiguration({ scopeUri: uri, section: 'aneLens' }) as { chip?: unknown } | null;
        if (section && typeof section.chip === 'string' && section.chip.trim() !== '') chip = section.chip;
      } catch (error) {
        logError('workspace/configuration', error);
      }
    }
    chipByUri.set(uri, chip);
    return chip;
  }

  /** Analyses the current version of a document (or returns the cached result for that version). */
  async function analysisFor(doc: TextDocument): Promise<PythonAnalysis> {
    const hit = cache.get(doc.uri);
    if (hit && hit.version === doc.version) return hit.analysis;
    const version = doc.version;
    const text = doc.getText();
    const chip = await chipFor(doc.uri);
    const analysis = await analyzePythonDocument(text, doc.uri, {
      chip,
      onRuleError: (rule, error) => logError(`rule ${rule} on ${doc.uri}`, error),
    });
    // Only keep it if nothing newer was cached meanwhile.
    const current = cache.get(doc.uri);
    if (!current || current.version <= version) cache.set(doc.uri, { version, analysis });
    return analysis;
  }

  async function validate(uri: string): Promise<void> {
    const doc = documents.get(uri);
    if (!doc || !isPython(doc) || shuttingDown) return;
    const version = doc.version;
    try {
      const analysis = await analysisFor(doc);
      // A newer edit arrived while we worked: its own run will publish.
      if (documents.get(uri)?.version !== version || shuttingDown) return;
      if (analysis.parseMs + analysis.analyzeMs > 500) {
        log(`${uri}: parse ${analysis.parseMs.toFixed(0)} ms, rules ${analysis.analyzeMs.toFixed(0)} ms`);
      }
      await connection.sendDiagnostics({ uri, version, diagnostics: analysis.findings.map(toDiagnostic) });
    } catch (error) {
      logError(`analysis of ${uri}`, error);
    }
  }

  function schedule(uri: string, delayMs: number): void {
    const pending = timers.get(uri);
    if (pending) clearTimeout(pending);
    timers.set(uri, setTimeout(() => {
      timers.delete(uri);
      void validate(uri);
    }, delayMs));
  }

  connection.onInitialize((params): InitializeResult => {
    configurationSupported = params.capabilities.workspace?.configuration === true;
    // The client may pass its settings up front (initializationOptions: { chip }).
    const initialChip = (params.initializationOptions as { chip?: unknown } | null | undefined)?.chip;
    if (typeof initialChip === 'string' && initialChip.trim() !== '') pushedChip = initialChip;
    // Load tree-sitter while the client finishes its handshake; failures surface on first analysis.
    initPythonParser().catch((error) => logError('loading tree-sitter', error));
    return {
      capabilities: {
        textDocumentSync: { openClose: true, change: TextDocumentSyncKind.Incremental },
        hoverProvider: true,
        codeLensProvider: { resolveProvider: false },
        codeActionProvider: { codeActionKinds: [CodeActionKind.QuickFix] },
      },
      serverInfo: { name: 'ANE Lens', version: '0.1.0' },
    };
  });

  connection.onDidChangeConfiguration((params) => {
    const pushed = (params.settings as { aneLens?: { chip?: unknown } } | null)?.aneLens?.chip;
    if (typeof pushed === 'string' && pushed.trim() !== '') pushedChip = pushed;
    chipByUri.clear();
    cache.clear();
    for (const doc of documents.all()) if (isPython(doc)) schedule(doc.uri, 0);
  });

  // TextDocuments reports the open as a content change too; the first run of a document goes out at
  // once, later edits are debounced.
  documents.onDidChangeContent((e) => {
    if (isPython(e.document)) schedule(e.document.uri, cache.has(e.document.uri) ? CHANGE_DEBOUNCE_MS : 0);
  });
  documents.onDidClose((e) => {
    const uri = e.document.uri;
    const pending = timers.get(uri);
    if (pending) clearTimeout(pending);
    timers.delete(uri);
    cache.delete(uri);
    chipByUri.delete(uri);
    if (!shuttingDown) void connection.sendDiagnostics({ uri, diagnostics: [] }).catch(() => undefined);
  });

  connection.onHover(guard('textDocument/hover', null as Hover | null, async (params) => {
    const doc = documents.get(params.textDocument.uri);
    if (!doc || !isPython(doc)) return null;
    const analysis = await analysisFor(doc);
    return hoverFor(analysis.findings, params.position);
  }));

  connection.onCodeLens(guard('textDocument/codeLens', [] as CodeLens[], async (params) => {
    const doc = documents.get(params.textDocument.uri);
    if (!doc || !isPython(doc)) return [];
    const analysis = await analysisFor(doc);
    return runLenses(doc.uri, analysis.targets);
  }));

  connection.onCodeAction(guard('textDocument/codeAction', [] as CodeAction[], async (params) => {
    const doc = documents.get(params.textDocument.uri);
    if (!doc || !isPython(doc)) return [];
    if (params.context.only && !params.context.only.some((k) => k === CodeActionKind.QuickFix || k === 'quickfix')) return [];
    const analysis = await analysisFor(doc);
    return quickFixes(doc.uri, analysis.fixes, params.context.diagnostics);
  }));

  connection.onShutdown(() => {
    shuttingDown = true;
    for (const t of timers.values()) clearTimeout(t);
    timers.clear();
    cache.clear();
  });

  documents.listen(connection);
  connection.listen();
}
