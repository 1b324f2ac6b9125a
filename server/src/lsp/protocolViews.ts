// Pure conversions from analysis results to LSP shapes: diagnostics, hover markdown, code lenses.
// Kept free of the connection so they are easy to reason about and reuse.
import {
  type CodeAction, CodeActionKind, type CodeLens, type Diagnostic, DiagnosticSeverity, MarkupKind, type Hover,
  type Position, type Range,
} from 'vscode-languageserver/node';
import { RUN_ON_ANE_COMMAND, type RunLensArgs } from '../../../common/commands';
import type { Finding, Severity } from '../../../common/findings';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import type { QuickFix, RunTargets } from '../python/analyzePython';
import { ignoreEdit } from '../python/suppressions';
import { findRule, ruleDocUri } from '../python/rules/index';

export const DIAGNOSTIC_SOURCE = 'ANE Lens';
export const RUN_LENS_TITLE = '▶ Run on ANE';

const SEVERITY: Record<Severity, DiagnosticSeverity> = {
  error: DiagnosticSeverity.Error,
  warning: DiagnosticSeverity.Warning,
  info: DiagnosticSeverity.Information,
};

/** 1-based finding → 0-based LSP range. */
export function findingRange(f: Finding): Range {
  return {
    start: { line: f.line - 1, character: f.column - 1 },
    end: { line: f.endLine - 1, character: f.endColumn - 1 },
  };
}

// Findings of unchanged blocks are the same objects from edit to edit (AnalysisCache): their diagnostics
// are built once. A 5,000-line file can carry 800 of them, and rebuilding each cost more than the analysis.
const diagnostics = new WeakMap<Finding, Diagnostic>();

export function toDiagnostic(f: Finding): Diagnostic {
  let d = diagnostics.get(f);
  if (!d) diagnostics.set(f, (d = newDiagnostic(f)));
  return d;
}

// Frozen: the stdio encoder (jsonEncoder.ts) keeps each diagnostic's JSON, which holds only while it never changes.
function newDiagnostic(f: Finding): Diagnostic {
  return Object.freeze({
    range: findingRange(f),
    severity: SEVERITY[f.severity],
    code: f.rule,
    codeDescription: { href: ruleDocUri(f.rule) },
    source: DIAGNOSTIC_SOURCE,
    message: f.message,
  });
}

function contains(range: Range, p: Position): boolean {
  const afterStart = p.line > range.start.line || (p.line === range.start.line && p.character >= range.start.character);
  const beforeEnd = p.line < range.end.line || (p.line === range.end.line && p.character <= range.end.character);
  return afterStart && beforeEnd;
}

/** Hover for every finding under the cursor: title, the concrete message, why + fix, and the doc link. */
export function hoverFor(findings: readonly Finding[], position: Position): Hover | null {
  const hits = findings.filter((f) => contains(findingRange(f), position));
  if (hits.length === 0) return null;
  const sections = hits.map((f) => {
    const rule = findRule(f.rule);
    const title = rule ? `${f.rule} · ${rule.title}` : f.rule;
    const parts = [`**${escapeMarkdown(title)}** (${f.severity})`, escapeMarkdown(f.message)];
    if (rule) parts.push(rule.explanation);
    parts.push(`[${f.rule} documentation](${ruleDocUri(f.rule)})`);
    return parts.join('\n\n');
  });
  // The hover covers the first hit's range, so the editor highlights what the text talks about.
  return { contents: { kind: MarkupKind.Markdown, value: sections.join('\n\n---\n\n') }, range: findingRange(hits[0]!) };
}

function escapeMarkdown(text: string): string {
  // Messages quote code in backticks on purpose; escape markup characters only outside code spans,
  // where a backslash would show literally.
  return text.split(/(`[^`]*`)/).map((part, i) => (i % 2 === 1 ? part : part.replace(/([\\*_[\]<>])/g, '\\$1'))).join('');
}

/** "▶ Run on ANE" above every nn.Module subclass and every ct.convert call. */
export function runLenses(uri: string, targets: RunTargets): CodeLens[] {
  const lenses: CodeLens[] = [];
  for (const cls of targets.classes) {
    const args: RunLensArgs = { uri, line: cls.line, kind: 'module', className: cls.name };
    if (cls.inputsPragma) args.inputShapes = cls.inputsPragma;
    if (cls.pragmaLine !== undefined) args.pragmaLine = cls.pragmaLine;
    if (cls.pragmaError) args.reason = `the # ane: pragma above ${cls.name} is malformed: ${cls.pragmaError}`;
    else if (!cls.inputsPragma) args.reason = `no \`# ane: inputs=(...)\` pragma above ${cls.name}, so its input shapes are unknown`;
    lenses.push(lens(cls.line, args));
  }
  for (const call of targets.convertCalls) {
    const args: RunLensArgs = { uri, line: call.line, kind: 'convert' };
    if (call.className) args.className = call.className;
    if (call.inputShapes) args.inputShapes = call.inputShapes;
    if (call.pragmaLine !== undefined) args.pragmaLine = call.pragmaLine;
    if (call.reason) args.reason = call.reason;
    lenses.push(lens(call.line, args));
  }
  return lenses;
}

function lens(line: number, args: RunLensArgs): CodeLens {
  const at = { line: line - 1, character: 0 };
  return { range: { start: at, end: at }, command: { title: RUN_LENS_TITLE, command: RUN_ON_ANE_COMMAND, arguments: [args] } };
}

function sameRange(a: Range, b: Range): boolean {
  return a.start.line === b.start.line && a.start.character === b.start.character
    && a.end.line === b.end.line && a.end.character === b.end.character;
}

/** Quick fixes for the diagnostics the client sent (matched by rule id and range). */
export function quickFixes(uri: string, fixes: readonly QuickFix[], diagnostics: readonly Diagnostic[]): CodeAction[] {
  const actions: CodeAction[] = [];
  for (const diagnostic of diagnostics) {
    if (diagnostic.source !== DIAGNOSTIC_SOURCE) continue;
    for (const fix of fixes) {
      if (fix.finding.rule !== String(diagnostic.code) || !sameRange(findingRange(fix.finding), diagnostic.range)) continue;
      const r = fix.range;
      actions.push({
        title: `${fix.title} (${fix.finding.rule})`,
        kind: CodeActionKind.QuickFix,
        diagnostics: [diagnostic],
        isPreferred: fix.preferred,
        edit: { changes: { [uri]: [{ range: { start: { line: r.line - 1, character: r.column - 1 }, end: { line: r.endLine - 1, character: r.endColumn - 1 } }, newText: fix.newText }] } },
      });
    }
  }
  return actions;
}

/** "Ignore <RULE> on this line": adds the rule to the line's `# ane: ignore[...]` (or appends one). */
export function ignoreActions(doc: TextDocument, diagnostics: readonly Diagnostic[]): CodeAction[] {
  const actions: CodeAction[] = [];
  const seen = new Set<string>();
  for (const diagnostic of diagnostics) {
    if (diagnostic.source !== DIAGNOSTIC_SOURCE || diagnostic.code === undefined) continue;
    const rule = String(diagnostic.code);
    const line = diagnostic.range.start.line;
    if (seen.has(`${rule}:${line}`)) continue;
    seen.add(`${rule}:${line}`);
    const lineText = doc.getText({ start: { line, character: 0 }, end: { line: line + 1, character: 0 } }).replace(/\r?\n$/, '');
    const e = ignoreEdit(lineText, rule);
    actions.push({
      title: `Ignore ${rule} on this line`,
      kind: CodeActionKind.QuickFix,
      diagnostics: [diagnostic],
      edit: { changes: { [doc.uri]: [{ range: { start: { line, character: e.start }, end: { line, character: e.end } }, newText: e.newText }] } },
    });
  }
  return actions;
}
