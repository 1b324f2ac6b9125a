// The MIL view: a read-only virtual document (scheme ane-lens-mil:) showing a model file as MIL text,
// with diagnostics on its op lines (and in the Problems panel for the model file) and hovers with
// shapes, dtype and placement. Compiled model.mil files opened as text get the same diagnostics and
// hovers on their own lines. The language server reads and places the model (aneLens/modelView): a huge
// or hostile file never blocks or endangers this extension host, and no reader is bundled here. Models
// are re-requested when the chip setting changes.
import * as vscode from 'vscode';
import type { Finding } from '../../common/findings';
import type { ModelViewParams, ModelViewResponse, ModelViewResult } from '../../common/lspExtensions';
import { modelKindOf } from '../../common/modelKind';
import { hoverMarkdown } from '../../server/src/milview/presentation';
import { readSettings, SECTION } from './settings';

export const MIL_SCHEME = 'ane-lens-mil';
export const MIL_LANGUAGE = 'mil';
export const OPEN_MIL_VIEW_COMMAND = 'aneLens.openMilView';

/** Sends aneLens/modelView to the language server (ctx.ts; a fake in tests). */
export type ModelViewRequester = (params: ModelViewParams) => Promise<ModelViewResponse>;

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
  /** One request per model and chip setting; a chip switch starts a new generation. */
  private readonly pending = new Map<string, Promise<ModelViewResult>>();
  /** Bumped by a chip switch: answers to older requests must not overwrite newer diagnostics. */
  private generation = 0;
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  /** Fires with the MIL view uri whose text changed (chip switch); the model editor listens too. */
  readonly onDidChange = this.changed.event;
  private readonly diagnostics = vscode.languages.createDiagnosticCollection('ane-lens-models');
  private readonly disposables: vscode.Disposable[] = [this.changed, this.diagnostics];

  constructor(private readonly log: vscode.LogOutputChannel, private readonly request: ModelViewRequester) {
    this.disposables.push(
      vscode.workspace.onDidChangeConfiguration((e) => { if (e.affectsConfiguration(`${SECTION}.chip`)) this.refreshAll(); }),
      vscode.workspace.onDidOpenTextDocument((d) => this.checkMilFile(d)),
    );
    for (const d of vscode.workspace.textDocuments) this.checkMilFile(d);
  }

  /** The placed model for the current chip (one request per model until the chip changes); rejects with the one-line error for a bad file. */
  load(model: vscode.Uri): Promise<ModelViewResult> {
    const key = model.toString();
    let p = this.pending.get(key);
    if (!p) {
      p = this.fetch(model);
      this.pending.set(key, p);
    }
    return p;
  }

  private async fetch(model: vscode.Uri): Promise<ModelViewResult> {
    const key = model.toString();
    const generation = this.generation;
    let message: string;
    try {
      const answer = await this.request({ uri: key, chip: readSettings(model).chip });
      if (!('error' in answer)) {
        if (generation === this.generation) {
          this.diagnostics.set(model, toDiagnostics(answer.fileFindings));
          this.diagnostics.set(milViewUri(model), toDiagnostics(answer.viewFindings));
        }
        this.log.info(`Read ${model.fsPath}: ${answer.summary.ops} ops, ${answer.summary.aneOps} on the ANE of ${answer.chip}`);
        return answer;
      }
      message = answer.error;
    } catch (e) {
      // The server did not answer (not started, restarting, crashed): say so, and let a later open retry.
      message = `${model.fsPath}: ${(e as Error).message}`;
      if (generation === this.generation) this.pending.delete(key);
    }
    if (generation !== this.generation) throw new Error(message);
    const d = new vscode.Diagnostic(new vscode.Range(0, 0, 0, 0), message, vscode.DiagnosticSeverity.Error);
    d.source = 'ANE Lens';
    this.diagnostics.set(model, [d]);
    this.diagnostics.delete(milViewUri(model));
    this.log.warn(`Cannot read ${model.fsPath}: ${message}`);
    throw new Error(message);
  }

  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    try {
      return (await this.load(modelUriOf(uri))).mil.text;
    } catch (e) {
      return `// ANE Lens cannot read this model:\n// ${(e as Error).message}\n`;
    }
  }

  async provideHover(doc: vscode.TextDocument, pos: vscode.Position): Promise<vscode.Hover | undefined> {
    const model = doc.uri.scheme === MIL_SCHEME ? modelUriOf(doc.uri) : doc.uri.scheme === 'file' ? doc.uri : undefined;
    if (!model) return undefined;
    let view: ModelViewResult;
    try {
      view = await this.load(model);
    } catch {
      return undefined;
    }
    let line = pos.line + 1;
    if (doc.uri.scheme === 'file') {
      // A compiled model.mil: ops carry their own line; find the op, then its MIL view line.
      const index = view.ops.findIndex((o) => o.sourceLine === line);
      if (index < 0) return undefined;
      line = view.mil.opLines[index]!;
    }
    const md = hoverMarkdown(view, line);
    if (!md) return undefined;
    const content = new vscode.MarkdownString(md);
    content.supportThemeIcons = true;
    return new vscode.Hover(content);
  }

  private checkMilFile(doc: vscode.TextDocument): void {
    if (doc.uri.scheme !== 'file' || modelKindOf(doc.uri.fsPath) !== 'mil') return;
    // load() puts an error in the Problems panel itself.
    this.load(doc.uri).catch(() => undefined);
  }

  private refreshAll(): void {
    const keys = [...this.pending.keys()];
    this.pending.clear();
    this.generation++;
    for (const key of keys) {
      const model = vscode.Uri.parse(key);
      void this.load(model).catch(() => undefined).finally(() => this.changed.fire(milViewUri(model)));
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
