// The ANE Lens language server: diagnostics, hovers and "▶ Run on ANE" code lenses for Python
// documents. Analysis is debounced per document and results for a superseded version are dropped.
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  type CodeAction, CodeActionKind, type CodeLens, type Connection, type Diagnostic, DiagnosticSeverity, type Hover,
  type InitializeResult, TextDocumentSyncKind, TextDocuments,
} from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { DEFAULT_CHIP } from '../../../common/chips';
import { applyConfigKeeping, clearConfigCache, disabledRules, loadConfigFor, type LoadedConfig } from '../config/projectConfig';
import { AnalysisCache, analyzePythonDocument, initPythonParser, type PythonAnalysis } from '../python/analyzePython';
import { modelViewRequest, type ModelViewParams, type ModelViewResponse } from '../../../common/lspExtensions';
import { modelViewFor } from './modelRequests';
import { DIAGNOSTIC_SOURCE, hoverFor, ignoreActions, quickFixes, runLenses, toDiagnostic } from './protocolViews';
import { TreeTracker } from './treeTracker';

/**
 * Delay before re-analysing after a large change (a paste, a formatter run, undo of many lines).
 * Small edits (typing) are analysed on the next turn of the event loop: with incremental parsing a
 * run costs a few milliseconds, so waiting would only add latency.
 */
const LARGE_CHANGE_DEBOUNCE_MS = 150;
const SMALL_CHANGE_CHARS = 256;

/** `tree`: the tree the analysis read; its lazy run targets are valid while that tree is tracked for `version`. */
interface Cached { version: number; analysis: PythonAnalysis; tree: unknown }

/** What the entry point needs to know about a running server. */
export interface RunningServer {
  /** The client asked for shutdown (so a closed connection is a normal end). */
  shutdownRequested(): boolean;
}

export function startServer(connection: Connection): RunningServer {
  const trees = new TreeTracker();
  /** Size of the content changes since the last analysis per document (chars inserted + removed). */
  const pendingChange = new Map<string, number>();
  const documents = new TextDocuments<TextDocument>({
    create: (uri, languageId, version, content) => {
      trees.forget(uri);
      return TextDocument.create(uri, languageId, version, content);
    },
    update: (document, changes, version) => {
      // Mirror every edit onto the document's last syntax tree, so the next parse is incremental.
      const updated = trees.applyChanges(document, changes, version);
      pendingChange.set(document.uri, (pendingChange.get(document.uri) ?? 0) + changes.reduce((n, c) => n + c.text.length + ('range' in c ? (c.rangeLength ?? 1) : Infinity), 0));
      return updated;
    },
  });
  const cache = new Map<string, Cached>();
  /** Block results per open document, so an edit re-runs the rules on the edited block only. */
  const blockCaches = new Map<string, AnalysisCache>();
  /** Pending analysis per document: a timer for large changes, an immediate for typing. */
  const timers = new Map<string, { cancel: () => void }>();
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

  /** pyproject.toml URIs we published config problems for (so fixed files get their diagnostics cleared). */
  const configDiagnostics = new Set<string>();

  /** The `[tool.ane-lens]` config for a document (file: URIs only), publishing its problems on pyproject.toml. */
  function configFor(uri: string): LoadedConfig {
    if (!uri.startsWith('file:')) return { config: {}, problems: [] };
    let loaded: LoadedConfig;
    try {
      loaded = loadConfigFor(fileURLToPath(uri));
    } catch (error) {
      logError('reading pyproject.toml', error);
      return { config: {}, problems: [] };
    }
    if (loaded.file) {
      const configUri = pathToFileURL(loaded.file).href;
      if (loaded.problems.length > 0 || configDiagnostics.has(configUri)) {
        const diagnostics: Diagnostic[] = loaded.problems.map((p) => ({
          range: { start: { line: p.line - 1, character: p.column - 1 }, end: { line: p.endLine - 1, character: p.endColumn - 1 } },
          severity: p.severity === 'error' ? DiagnosticSeverity.Error : DiagnosticSeverity.Warning,
          source: DIAGNOSTIC_SOURCE,
          code: 'ANE-CONFIG',
          message: p.message,
        }));
        if (diagnostics.length > 0) configDiagnostics.add(configUri);
        else configDiagnostics.delete(configUri);
        void connection.sendDiagnostics({ uri: configUri, diagnostics }).catch(() => undefined);
      }
    }
    return loaded;
  }

  function blockCacheFor(uri: string): AnalysisCache {
    let c = blockCaches.get(uri);
    if (!c) blockCaches.set(uri, (c = new AnalysisCache()));
    return c;
  }

  /** Analyses the current version of a document (or returns the cached result for that version). */
  async function analysisFor(doc: TextDocument): Promise<PythonAnalysis> {
    const hit = cache.get(doc.uri);
    if (hit && hit.version === doc.version) return hit.analysis;
    const chipSetting = await chipFor(doc.uri);
    const loaded = configFor(doc.uri);
    // Take text, version and the edited old tree together, right before the (synchronous) parse.
    const version = doc.version;
    const text = doc.getText();
    const oldTree = trees.treeFor(doc.uri, version);
    let analysis: PythonAnalysis;
    try {
      analysis = await analyzePythonDocument(text, doc.uri, {
        // The project's pyproject.toml names the target chip for everyone; the editor setting is the fallback.
        chip: loaded.config.chip ?? chipSetting,
        skipRules: disabledRules(loaded),
        onRuleError: (rule, error) => logError(`rule ${rule} on ${doc.uri}`, error),
        ...(oldTree ? { oldTree } : {}),
        cache: blockCacheFor(doc.uri),
        keepTree: true,
        // Code lenses only: computed when asked, off the edit → diagnostics path.
        runTargets: 'lazy',
      });
    } catch (error) {
      trees.forget(doc.uri);
      throw error;
    }
    const tree = analysis.tree!;
    trees.store(doc.uri, tree, version, documents.get(doc.uri)?.version);
    delete analysis.tree;
    pendingChange.delete(doc.uri);
    analysis = withConfig(analysis, loaded, doc.uri);
    // Only keep it if nothing newer was cached meanwhile.
    const current = cache.get(doc.uri);
    if (!current || current.version <= version) cache.set(doc.uri, { version, analysis, tree });
    return analysis;
  }

  /** Run targets of the current version: from the cached analysis while its tree is intact, else a fresh run. */
  async function targetsFor(doc: TextDocument): Promise<PythonAnalysis['targets']> {
    const analysis = await analysisFor(doc);
    const hit = cache.get(doc.uri);
    if (hit && hit.analysis === analysis && hit.version === doc.version && trees.treeFor(doc.uri, doc.version)?.exact === hit.tree) {
      return analysis.targets;
    }
    // The tree was dropped or moved on (closed and reopened, edited meanwhile): analyse this text again.
    const fresh = await analyzePythonDocument(doc.getText(), doc.uri, { chip: configFor(doc.uri).config.chip ?? await chipFor(doc.uri) });
    return fresh.targets;
  }

  /** Applies select/ignore/per-file-ignores/severity to findings, keeping fixes attached to their findings. */
  function withConfig(analysis: PythonAnalysis, loaded: LoadedConfig, uri: string): PythonAnalysis {
    if (!loaded.file || !uri.startsWith('file:')) return analysis;
    // applyConfig keeps a finding as it is, or as its (stable) copy with another severity: so findings of
    // unchanged blocks stay the same objects and keep their diagnostics.
    const pairs = applyConfigKeeping(analysis.findings, loaded, fileURLToPath(uri));
    const kept = new Map(pairs);
    const findings = pairs.map(([, f]) => f);
    const fixes = analysis.fixes.flatMap((fx) => {
      const f = kept.get(fx.finding);
      return f ? [{ ...fx, finding: f }] : [];
    });
    // Assigned, not spread: spreading would read (and so compute) lazy run targets.
    return Object.assign(analysis, { findings, fixes });
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
    timers.get(uri)?.cancel();
    const run = () => {
      timers.delete(uri);
      void validate(uri);
    };
    // setImmediate still lets notifications already received (a burst of keystrokes in one read)
    // update the document first, so one run covers them all; setTimeout(0) would add its 1 ms clamp.
    if (delayMs <= 0) {
      const handle = setImmediate(run);
      timers.set(uri, { cancel: () => clearImmediate(handle) });
    } else {
      const handle = setTimeout(run, delayMs);
      timers.set(uri, { cancel: () => clearTimeout(handle) });
    }
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
        workspace: { workspaceFolders: { supported: true } },
      },
      serverInfo: { name: 'ANE Lens', version: '0.1.0' },
    };
  });

  // A pyproject.toml changed on disk (when the client watches it): re-read configs, re-check everything.
  connection.onDidChangeWatchedFiles(() => {
    clearConfigCache();
    cache.clear();
    for (const doc of documents.all()) if (isPython(doc)) schedule(doc.uri, 0);
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
    if (!isPython(e.document)) return;
    const size = pendingChange.get(e.document.uri) ?? 0;
    schedule(e.document.uri, cache.has(e.document.uri) && size > SMALL_CHANGE_CHARS ? LARGE_CHANGE_DEBOUNCE_MS : 0);
  });
  documents.onDidClose((e) => {
    const uri = e.document.uri;
    timers.get(uri)?.cancel();
    timers.delete(uri);
    cache.delete(uri);
    blockCaches.delete(uri);
    chipByUri.delete(uri);
    trees.forget(uri);
    pendingChange.delete(uri);
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
    return runLenses(doc.uri, await targetsFor(doc));
  }));

  connection.onCodeAction(guard('textDocument/codeAction', [] as CodeAction[], async (params) => {
    const doc = documents.get(params.textDocument.uri);
    if (!doc || !isPython(doc)) return [];
    if (params.context.only && !params.context.only.some((k) => k === CodeActionKind.QuickFix || k === 'quickfix')) return [];
    const analysis = await analysisFor(doc);
    return [...quickFixes(doc.uri, analysis.fixes, params.context.diagnostics), ...ignoreActions(doc, params.context.diagnostics)];
  }));

  // Model files are read here, not in the extension host; errors come back as `{ error }`.
  // By method name: vscode-languageserver bundles its own (older) vscode-jsonrpc, whose RequestType class
  // is a different type from the one common/lspExtensions.ts (and the client) use; the types are the same.
  connection.onRequest<ModelViewResponse, void>(modelViewRequest.method, (params: ModelViewParams) => modelViewFor(params, log));

  connection.onShutdown(() => {
    shuttingDown = true;
    for (const t of timers.values()) t.cancel();
    timers.clear();
    cache.clear();
    blockCaches.clear();
    trees.clear();
  });

  documents.listen(connection);
  connection.listen();
  return { shutdownRequested: () => shuttingDown };
}
