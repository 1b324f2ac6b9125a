// The MIL view: a read-only virtual document (scheme ane-lens-mil:) showing a model file as MIL text,
// with diagnostics on its op lines (and in the Problems panel for the model file) and hovers with
// shapes, dtype and placement. Compiled model.mil files opened as text get the same diagnostics and
// hovers on their own lines. Models are read in the extension host with the project's readers (no
// code from the workspace runs), and re-placed when the chip setting changes.
import * as vscode from 'vscode';
import { findChip } from '../../common/chips';
import type { Finding } from '../../common/findings';
import { ModelReadError } from '../../server/src/onnx/readOnnx';
import { modelKindOf } from '../../server/src/coreml/readModel';
import { loadModelView, type ModelView } from '../../server/src/milview/modelView';
import { hoverMarkdown } from '../../server/src/milview/presentation';
import { readSettings, SECTION } from './settings';

export const MIL_SCHEME = 'ane-lens-mil';
export const MIL_LANGUAGE = 'mil';
export const OPEN_MIL_VIEW_COMMAND = 'aneLens.openMilView';

/** ane-lens-mil:/path/model.mlpackage.mil?<model uri> */
export function milViewUri(model: vscode.Uri): vscode.Uri {
  return vscode.Uri.from({ scheme: MIL_SCHEME, path: `${model.path}.mil`, query: model.toString() });
}

export function modelUriOf(view: vscode.Uri): vscode.Uri {
  return vscode.Uri.parse(view.query);
}

function severity(s: Finding['severity']): vscode.DiagnosticSeverity {
  return s === 'error' ? vscode.DiagnosticSeverity.Error : s === 'warning' ? vscode.DiagnosticSeverity.Warning : vscode.DiagnosticSeverity.Information;
}

function toDiagnostics(findings: Finding[]): vscode.Diagnostic[] {
  return findings.map((f) => {
    const d = new vscode.Diagnostic(new vscode.Range(f.line - 1, f.column - 1, f.endLine - 1, Math.max(f.endColumn - 1, f.column - 1)), f.message, severity(f.severity));
    d.source = 'ANE Lens';
    d.code = f.rule;
    return d;
  });
}

export class ModelViews implements vscode.TextDocumentContentProvider, vscode.HoverProvider, vscode.Disposable {
  private readonly cache = new Map<string, ModelView>();
  private readonly errors = new Map<string, string>();
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  /** Fires with the MIL view uri whose text changed (chip switch); the model editor listens too. */
  readonly onDidChange = this.changed.event;
  private readonly diagnostics = vscode.languages.createDiagnosticCollection('ane-lens-models');
  private readonly disposables: vscode.Disposable[] = [this.changed, this.diagnostics];

  constructor(private readonly log: vscode.LogOutputChannel) {
    this.disposables.push(
      vscode.workspace.onDidChangeConfiguration((e) => { if (e.affectsConfiguration(`${SECTION}.chip`)) this.refreshAll(); }),
      vscode.workspace.onDidOpenTextDocument((d) => this.checkMilFile(d)),
    );
    for (const d of vscode.workspace.textDocuments) this.checkMilFile(d);
  }

  /** The placed model for the current chip (cached); throws ModelReadError for a bad file. */
  load(model: vscode.Uri): ModelView {
    const key = model.toString();
    const cached = this.cache.get(key);
    if (cached) return cached;
    const started = Date.now();
    try {
      const view = loadModelView(model.fsPath, findChip(readSettings(model).chip));
      this.cache.set(key, view);
      this.errors.delete(key);
      this.diagnostics.set(model, toDiagnostics(view.fileFindings));
      this.diagnostics.set(milViewUri(model), toDiagnostics(view.viewFindings));
      this.log.info(`Read ${model.fsPath}: ${view.summary.ops} ops, ${view.summary.aneOps} on the ANE of ${view.chip} (${Date.now() - started} ms)`);
      return view;
    } catch (e) {
      const message = e instanceof ModelReadError ? e.message : `${model.fsPath}: ${(e as Error).message}`;
      this.errors.set(key, message);
      const d = new vscode.Diagnostic(new vscode.Range(0, 0, 0, 0), message, vscode.DiagnosticSeverity.Error);
      d.source = 'ANE Lens';
      this.diagnostics.set(model, [d]);
      this.log.warn(`Cannot read ${model.fsPath}: ${message}`);
      throw e instanceof ModelReadError ? e : new ModelReadError(model.fsPath, (e as Error).message);
    }
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    const model = modelUriOf(uri);
    try {
      return this.load(model).mil.text;
    } catch (e) {
      return `// ANE Lens cannot read this model:\n// ${(e as Error).message}\n`;
    }
  }

  provideHover(doc: vscode.TextDocument, pos: vscode.Position): vscode.Hover | undefined {
    let view: ModelView | undefined;
    let line = pos.line + 1;
    if (doc.uri.scheme === MIL_SCHEME) view = this.cache.get(modelUriOf(doc.uri).toString());
    else if (doc.uri.scheme === 'file') {
      view = this.cache.get(doc.uri.toString());
      // A compiled model.mil: ops carry their own line; find the op, then its MIL view line.
      const index = view?.graph.ops.findIndex((o) => o.source?.line === line) ?? -1;
      if (!view || index < 0) return undefined;
      line = view.mil.opLines[index]!;
    }
    if (!view) return undefined;
    const md = hoverMarkdown(view, line);
    if (!md) return undefined;
    const content = new vscode.MarkdownString(md);
    content.supportThemeIcons = true;
    return new vscode.Hover(content);
  }

  private checkMilFile(doc: vscode.TextDocument): void {
    if (doc.uri.scheme !== 'file' || modelKindOf(doc.uri.fsPath) !== 'mil') return;
    try {
      this.load(doc.uri);
    } catch {
      // load() already put the error in the Problems panel.
    }
  }

  private refreshAll(): void {
    const keys = [...new Set([...this.cache.keys(), ...this.errors.keys()])];
    this.cache.clear();
    this.errors.clear();
    for (const key of keys) {
      const model = vscode.Uri.parse(key);
      try { this.load(model); } catch { /* reported */ }
      this.changed.fire(milViewUri(model));
    }
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}

/** Open the MIL view of a model (a compiled model.mil opens as itself). */
export async function openMilView(target: vscode.Uri): Promise<void> {
  const uri = modelKindOf(target.fsPath) === 'mil' && !target.fsPath.endsWith('.mlmodelc') ? target : milViewUri(target);
  let doc = await vscode.workspace.openTextDocument(uri);
  if (doc.languageId !== MIL_LANGUAGE) doc = await vscode.languages.setTextDocumentLanguage(doc, MIL_LANGUAGE);
  await vscode.window.showTextDocument(doc, { preview: false });
}
