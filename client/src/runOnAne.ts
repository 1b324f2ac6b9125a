// "Run on ANE": turns a code lens, a model file's URI or the active editor into a RunTarget, asks for
// what is missing (input shapes), enforces workspace trust for Python, and runs it with progress.
import * as vscode from 'vscode';
import { basename, dirname } from 'node:path';
import { RUN_ON_ANE_COMMAND, type RunLensArgs } from '../../common/commands';
import type { RunParams, RunTarget } from '../../common/sideProcessProtocol';
import { SideProcessErrorCodes } from '../../common/sideProcessProtocol';
import { classifyRunArgument, lensArgsProblem, lensForCursor, modelRunTarget } from './runArgs';
import { MIL_SCHEME, modelUriOf } from './milView';
import { findClassLine, formatShapeList, parseShapeList, pragmaEdit } from './shapePragma';
import { resolvePythonPath } from './pythonPath';
import { readSettings } from './settings';
import type { TimingPanel } from './timingPanel';
import type { SideProcess } from './sideProcess';

export interface RunDeps {
  sideProcess: SideProcess;
  panel: TimingPanel;
  log: vscode.LogOutputChannel;
}

export async function runOnAne(deps: RunDeps, arg: unknown): Promise<void> {
  const invocation = classifyRunArgument(arg);
  switch (invocation.kind) {
    case 'invalid':
      deps.log.error(invocation.message);
      void vscode.window.showErrorMessage(invocation.message);
      return;
    case 'lens':
      return runLens(deps, invocation.args);
    case 'uri':
      return runUri(deps, invocation.uri instanceof vscode.Uri ? invocation.uri : vscode.Uri.file(invocation.uri.fsPath));
    case 'active':
      return runActive(deps);
  }
}

async function runUri(deps: RunDeps, given: vscode.Uri): Promise<void> {
  // From the MIL view's title bar: run the model the view shows.
  const uri = given.scheme === MIL_SCHEME ? modelUriOf(given) : given;
  if (uri.scheme !== 'file') {
    void vscode.window.showErrorMessage(`ANE Lens runs files on disk; ${uri.toString()} is not one.`);
    return;
  }
  const model = modelRunTarget(uri.fsPath);
  if (model) {
    // No user code runs for a model file, so an untrusted workspace may run it.
    return execute(deps, model, basename(uri.fsPath) === 'Manifest.json' ? basename(dirname(uri.fsPath)) : basename(uri.fsPath));
  }
  if (uri.fsPath.endsWith('.py')) {
    const document = await vscode.workspace.openTextDocument(uri);
    return runPythonDocument(deps, document, 1);
  }
  void vscode.window.showErrorMessage(`ANE Lens can run model files (.onnx, .mlpackage, .mlmodel, model.mil) and PyTorch modules in .py files, not ${basename(uri.fsPath)}.`);
}

async function runActive(deps: RunDeps): Promise<void> {
  const editor = vscode.window.activeTextEditor;
  if (editor?.document.languageId === 'python') {
    return runPythonDocument(deps, editor.document, editor.selection.active.line + 1);
  }
  // Model files are binary: they show in a (custom or binary) editor tab, or as their MIL view.
  const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
  let tabUri = input instanceof vscode.TabInputText || input instanceof vscode.TabInputCustom ? input.uri : undefined;
  if (tabUri?.scheme === MIL_SCHEME) tabUri = modelUriOf(tabUri);
  if (tabUri && modelRunTarget(tabUri.fsPath)) return runUri(deps, tabUri);
  void vscode.window.showInformationMessage('Open a PyTorch model (.py) or a model file (.onnx, .mlpackage, .mlmodel) to run it on the ANE simulator.');
}

/** Uses the server's code lenses for the document, so the client does not parse Python itself. */
async function runPythonDocument(deps: RunDeps, document: vscode.TextDocument, cursorLine: number): Promise<void> {
  const lenses = (await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', document.uri, 200)) ?? [];
  const targets = lenses
    .map((l) => l.command)
    .filter((c): c is vscode.Command => c?.command === RUN_ON_ANE_COMMAND)
    .map((c) => c.arguments?.[0])
    .filter((a): a is RunLensArgs => lensArgsProblem(a) === undefined);
  const target = lensForCursor(targets, cursorLine);
  if (!target) {
    void vscode.window.showInformationMessage(`No nn.Module subclass or ct.convert call found in ${basename(document.fileName)}.`);
    return;
  }
  return runLens(deps, target);
}

async function runLens(deps: RunDeps, args: RunLensArgs): Promise<void> {
  const uri = vscode.Uri.parse(args.uri);
  if (!vscode.workspace.isTrusted) {
    const manage = 'Manage Workspace Trust';
    const choice = await vscode.window.showWarningMessage(
      'ANE Lens runs your Python code to trace the model, and does so only in a trusted workspace. (.onnx files run without trust.)',
      manage,
    );
    if (choice === manage) void vscode.commands.executeCommand('workbench.trust.manage');
    return;
  }
  if (!args.className) {
    const why = args.reason ?? 'the converted model could not be traced back to an nn.Module class in this file';
    void vscode.window.showWarningMessage(`Cannot run this ct.convert call: ${why}. Add "# ane: module=ClassName" above it, or run the class's own "▶ Run on ANE" lens.`);
    return;
  }
  if (uri.scheme !== 'file') {
    void vscode.window.showWarningMessage('Save this file first: the tracer imports the model from disk.');
    return;
  }
  const document = await vscode.workspace.openTextDocument(uri);
  if (document.isDirty) {
    const save = 'Save and Run';
    const choice = await vscode.window.showWarningMessage(`${basename(uri.fsPath)} has unsaved changes; the tracer imports the saved file.`, save, 'Run Saved Version');
    if (!choice) return;
    if (choice === save && !(await document.save())) return;
  }

  let shapes = args.inputShapes && args.inputShapes.length > 0 ? args.inputShapes : undefined;
  if (!shapes) {
    shapes = await askShapes(args.className);
    if (!shapes) return;
    const classLine = args.kind === 'module' ? args.line : findClassLine(document.getText().split(/\r?\n/), args.className);
    if (classLine !== undefined) void offerPragma(document, classLine, shapes, deps.log);
  }

  const python = await resolvePythonPath({
    configured: readSettings(uri).pythonPath,
    workspaceFolder: vscode.workspace.getWorkspaceFolder(uri)?.uri.fsPath,
    homeDir: process.env.HOME,
    resource: uri,
    pythonExtension: async () => {
      const extension = vscode.extensions.getExtension('ms-python.python');
      if (!extension) return undefined;
      return extension.isActive ? extension.exports : await extension.activate();
    },
    log: (m) => deps.log.warn(m),
  });
  deps.log.info(`Tracing ${args.className} with ${python.path} (${python.source})`);
  const target: RunTarget = { kind: 'pytorch', file: uri.fsPath, className: args.className, inputShapes: shapes, pythonPath: python.path };
  return execute(deps, target, `${args.className} · ${basename(uri.fsPath)}`);
}

async function askShapes(className: string): Promise<number[][] | undefined> {
  const text = await vscode.window.showInputBox({
    title: `ANE Lens: input shapes for ${className}`,
    prompt: 'One static shape per forward() argument',
    placeHolder: '(1, 3, 224, 224), (1, 128)',
    ignoreFocusOut: true,
    validateInput: (value) => {
      const parsed = parseShapeList(value);
      return parsed.ok ? undefined : parsed.error;
    },
  });
  if (text === undefined) return undefined;
  const parsed = parseShapeList(text);
  return parsed.ok ? parsed.shapes : undefined;
}

async function offerPragma(document: vscode.TextDocument, classLine: number, shapes: number[][], log: vscode.LogOutputChannel): Promise<void> {
  const insert = 'Insert pragma';
  const choice = await vscode.window.showInformationMessage(
    `Save these shapes as "# ane: inputs=${formatShapeList(shapes)}" above the class, so the next run needs no prompt?`,
    insert,
  );
  if (choice !== insert) return;
  const lines = document.getText().split(/\r?\n/);
  if (classLine > lines.length) {
    log.warn(`Pragma not inserted: line ${classLine} is past the end of ${document.fileName}`);
    return;
  }
  const edit = pragmaEdit(lines, classLine, shapes);
  const workspaceEdit = new vscode.WorkspaceEdit();
  if (edit.replace) {
    workspaceEdit.replace(document.uri, document.lineAt(edit.line).range, edit.text);
  } else {
    const eol = document.eol === vscode.EndOfLine.CRLF ? '\r\n' : '\n';
    workspaceEdit.insert(document.uri, new vscode.Position(edit.line, 0), edit.text + eol);
  }
  if (!(await vscode.workspace.applyEdit(workspaceEdit))) {
    void vscode.window.showWarningMessage('The pragma could not be inserted (the file changed?).');
  }
}

async function execute(deps: RunDeps, target: RunTarget, title: string): Promise<void> {
  const settings = readSettings();
  const params: RunParams = { target, backend: settings.backend, chip: settings.chip, tag: `vscode-${Date.now()}` };
  deps.panel.showRunning(title);
  deps.log.info(`Run ${title} on simulated ${settings.chip}: ${JSON.stringify(target)}`);
  try {
    const report = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `ANE Lens: ${title} on simulated ${settings.chip}`, cancellable: true },
      (progress, token) => deps.sideProcess.run(params, token, (message) => progress.report({ message })),
    );
    deps.log.info(`Run ${title}: ${report.totalMs.toFixed(3)} ms estimated, ${report.layers.length} layers, ${report.segments} segments`);
    await deps.panel.showReport(report, title);
  } catch (err) {
    const { message, cancelled } = describeRunError(err);
    deps.panel.showError(cancelled ? `Run of ${title} cancelled.` : message);
    if (cancelled) {
      deps.log.info(`Run ${title} cancelled`);
      return;
    }
    deps.log.error(`Run ${title} failed: ${message}`);
    const showLogs = 'Show logs';
    if ((await vscode.window.showErrorMessage(`ANE Lens: ${message}`, showLogs)) === showLogs) deps.log.show(true);
  }
}

export function describeRunError(err: unknown): { message: string; cancelled: boolean } {
  const code = (err as { code?: unknown } | null)?.code;
  const raw = err instanceof Error ? err.message : String(err);
  switch (code) {
    case SideProcessErrorCodes.Cancelled:
      return { message: raw, cancelled: true };
    case SideProcessErrorCodes.TraceFailed:
      return { message: `tracing the model failed: ${raw}`, cancelled: false };
    case SideProcessErrorCodes.Timeout:
      return { message: `the run timed out: ${raw}`, cancelled: false };
    case SideProcessErrorCodes.Crashed:
      return { message: `the side-process crashed during the run (it has been restarted): ${raw}`, cancelled: false };
    default:
      return { message: raw, cancelled: false };
  }
}
