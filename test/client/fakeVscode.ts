// A small stand-in for the `vscode` module, installed into Node's module loader before the client
// modules load (import this first). It records what the client asks of the editor and answers with
// scripted replies, so command flows are tested without an editor.
import Module from 'node:module';
import { pathToFileURL, fileURLToPath } from 'node:url';

export class Uri {
  private constructor(readonly scheme: string, readonly path: string, readonly query = '') {}
  static file(path: string): Uri { return new Uri('file', path); }
  static from(parts: { scheme: string; path: string; query?: string }): Uri { return new Uri(parts.scheme, parts.path, parts.query ?? ''); }
  static parse(value: string): Uri {
    if (value.startsWith('file://')) return new Uri('file', fileURLToPath(value));
    const i = value.indexOf(':');
    return new Uri(value.slice(0, i), value.slice(i + 1));
  }
  static joinPath(base: Uri, ...parts: string[]): Uri { return new Uri(base.scheme, [base.path, ...parts].join('/')); }
  get fsPath(): string { return this.path; }
  toString(): string { return this.scheme === 'file' ? pathToFileURL(this.path).href : `${this.scheme}:${this.path}`; }
}
export class Position { constructor(readonly line: number, readonly character: number) {} }
export class Range {
  readonly start: Position;
  readonly end: Position;
  constructor(a: Position | number, b: Position | number, c?: number, d?: number) {
    if (typeof a === 'number') {
      this.start = new Position(a, b as number);
      this.end = new Position(c!, d!);
    } else {
      this.start = a;
      this.end = b as Position;
    }
  }
}
export class WorkspaceEdit {
  readonly edits: Array<{ kind: 'insert' | 'replace'; uri: Uri; at: Position | Range; text: string }> = [];
  insert(uri: Uri, at: Position, text: string): void { this.edits.push({ kind: 'insert', uri, at, text }); }
  replace(uri: Uri, at: Range, text: string): void { this.edits.push({ kind: 'replace', uri, at, text }); }
}
export class TabInputText { constructor(readonly uri: Uri) {} }
export class TabInputCustom { constructor(readonly uri: Uri) {} }
export const EndOfLine = { LF: 1, CRLF: 2 } as const;
export const ProgressLocation = { SourceControl: 1, Window: 10, Notification: 15 } as const;
export const ConfigurationTarget = { Global: 1, Workspace: 2, WorkspaceFolder: 3 } as const;
export const ViewColumn = { Active: -1, Beside: -2, One: 1, Two: 2 } as const;
export const TextEditorRevealType = { Default: 0, InCenter: 1, InCenterIfOutsideViewport: 2, AtTop: 3 } as const;

/** A webview panel whose webview records posted messages and lets a test play the webview's side. */
export class FakePanel {
  title: string;
  viewColumn: number | undefined = ViewColumn.Two;
  readonly posted: unknown[] = [];
  private listener: ((msg: unknown) => void) | undefined;
  private disposeListener: (() => void) | undefined;
  revealed = 0;
  readonly webview = {
    html: '',
    options: {} as Record<string, unknown>,
    cspSource: 'https://file+.vscode-resource.vscode-cdn.net',
    asWebviewUri: (uri: Uri) => ({ toString: () => `https://file+.vscode-resource.vscode-cdn.net${uri.path}` }),
    postMessage: async (msg: unknown) => { this.posted.push(msg); return true; },
    onDidReceiveMessage: (listener: (msg: unknown) => void) => { this.listener = listener; return { dispose: () => { this.listener = undefined; } }; },
  };
  constructor(readonly viewType: string, title: string, readonly options: Record<string, unknown> = {}) { this.title = title; }
  reveal(): void { this.revealed++; }
  onDidDispose(listener: () => void) { this.disposeListener = listener; return { dispose: () => { this.disposeListener = undefined; } }; }
  dispose(): void { this.disposeListener?.(); }
  /** The webview sends a message to the host. */
  receive(msg: unknown): void { this.listener?.(msg); }
}

export interface FakeDocument {
  uri: Uri;
  fileName: string;
  languageId: string;
  isDirty: boolean;
  eol: number;
  getText(): string;
  lineCount: number;
  lineAt(line: number): { range: Range; text: string; firstNonWhitespaceCharacterIndex: number };
  save(): Promise<boolean>;
}

export function fakeDocument(path: string, text: string): FakeDocument {
  const lines = text.split('\n');
  return {
    uri: Uri.file(path), fileName: path, languageId: 'python', isDirty: false, eol: EndOfLine.LF,
    getText: () => text,
    lineCount: lines.length,
    lineAt: (line: number) => ({
      text: lines[line], firstNonWhitespaceCharacterIndex: /^\s*/.exec(lines[line])![0].length,
      range: new Range(new Position(line, 0), new Position(line, lines[line].length)),
    }),
    save: async () => true,
  };
}

type Reply = (message: string, items: string[]) => string | undefined;

/** What the client did, and how the fake editor answers. Reset per test with `reset()`. */
export const recorded = {
  messages: [] as Array<{ level: 'info' | 'warning' | 'error'; message: string; items: string[] }>,
  inputBoxes: [] as Array<{ title?: string; validate: (value: string) => string | undefined | null }>,
  edits: [] as WorkspaceEdit[],
  commands: [] as Array<{ id: string; args: unknown[] }>,
  progressTitles: [] as string[],
  panels: [] as FakePanel[],
  serializers: new Map<string, { deserializeWebviewPanel(panel: FakePanel, state: unknown): Promise<void> }>(),
  shownDocuments: [] as Array<{ path: string; selection: Range; viewColumn: number; revealType?: number }>,
};
export const script = {
  trusted: true,
  settings: {} as Record<string, unknown>,
  documents: new Map<string, FakeDocument>(),
  reply: (() => undefined) as Reply,
  inputBox: undefined as string | undefined,
  codeLenses: [] as unknown[],
};
let editWaiters: Array<() => void> = [];
export function reset(): void {
  recorded.messages = [];
  recorded.inputBoxes = [];
  recorded.edits = [];
  recorded.commands = [];
  recorded.progressTitles = [];
  recorded.panels = [];
  recorded.serializers = new Map();
  recorded.shownDocuments = [];
  script.trusted = true;
  script.settings = {};
  script.documents = new Map();
  script.reply = () => undefined;
  script.inputBox = undefined;
  script.codeLenses = [];
}
/** Resolves once a WorkspaceEdit has been applied (the pragma offer runs detached from the run). */
export function nextEdit(): Promise<void> {
  return new Promise((resolve) => editWaiters.push(resolve));
}

const message = (level: 'info' | 'warning' | 'error') => async (text: string, ...items: string[]) => {
  recorded.messages.push({ level, message: text, items });
  return script.reply(text, items);
};

const cancellationToken = { isCancellationRequested: false, onCancellationRequested: () => ({ dispose() {} }) };

export const vscode = {
  Uri, Position, Range, WorkspaceEdit, TabInputText, TabInputCustom, EndOfLine, ProgressLocation, ConfigurationTarget,
  ViewColumn, TextEditorRevealType,
  window: {
    createWebviewPanel: (viewType: string, title: string, _show: unknown, options: Record<string, unknown>) => {
      const panel = new FakePanel(viewType, title, options);
      recorded.panels.push(panel);
      return panel;
    },
    registerWebviewPanelSerializer: (viewType: string, serializer: { deserializeWebviewPanel(panel: FakePanel, state: unknown): Promise<void> }) => {
      recorded.serializers.set(viewType, serializer);
      return { dispose: () => recorded.serializers.delete(viewType) };
    },
    showTextDocument: async (doc: FakeDocument, options: { selection: Range; viewColumn: number }) => {
      const entry: { path: string; selection: Range; viewColumn: number; revealType?: number } = { path: doc.uri.fsPath, selection: options.selection, viewColumn: options.viewColumn };
      recorded.shownDocuments.push(entry);
      return { revealRange: (_range: Range, type: number) => { entry.revealType = type; } };
    },
    showInformationMessage: message('info'),
    showWarningMessage: message('warning'),
    showErrorMessage: message('error'),
    showInputBox: async (options: { title?: string; validateInput: (v: string) => string | undefined }) => {
      recorded.inputBoxes.push({ title: options.title, validate: options.validateInput });
      return script.inputBox;
    },
    withProgress: async <T>(options: { title: string }, task: (progress: { report(v: unknown): void }, token: unknown) => Promise<T>) => {
      recorded.progressTitles.push(options.title);
      return task({ report() {} }, cancellationToken);
    },
    activeTextEditor: undefined as unknown,
    tabGroups: { activeTabGroup: { activeTab: undefined } },
  },
  workspace: {
    get isTrusted() { return script.trusted; },
    getConfiguration: () => ({
      get: <T>(key: string, fallback: T): T => (key in script.settings ? script.settings[key] as T : fallback),
      inspect: () => undefined,
      update: async () => undefined,
    }),
    getWorkspaceFolder: () => undefined,
    openTextDocument: async (uri: Uri) => {
      const doc = script.documents.get(uri.fsPath);
      if (!doc) throw new Error(`no such document ${uri.fsPath}`);
      return doc;
    },
    applyEdit: async (edit: WorkspaceEdit) => {
      recorded.edits.push(edit);
      const waiters = editWaiters;
      editWaiters = [];
      for (const w of waiters) w();
      return true;
    },
  },
  commands: {
    executeCommand: async (id: string, ...args: unknown[]) => {
      recorded.commands.push({ id, args });
      if (id === 'vscode.executeCodeLensProvider') return script.codeLenses;
      return undefined;
    },
  },
  extensions: { getExtension: () => undefined },
};

const loader = Module as unknown as { _load: (request: string, ...rest: unknown[]) => unknown };
const originalLoad = loader._load;
loader._load = function (request: string, ...rest: unknown[]) {
  if (request === 'vscode') return vscode;
  return originalLoad.call(this, request, ...rest);
};
