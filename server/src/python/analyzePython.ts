// Entry point of the Python source analysis (contract 6): parse once with tree-sitter, run every
// rule, check `# ane:` pragmas, and find run targets. Syntax errors never make it throw: tree-sitter
// recovers, rules see whatever well-formed parts remain, and a rule that trips on odd code is skipped.
import type { Node, Tree } from 'web-tree-sitter';
import type { Finding, Severity } from '../../../common/findings';
import { AnalysisContext } from './context';
import { initPythonParser, parsePython } from './parser';
import { isPragmaLine, pragmaAbove } from './pragmas';
import { collectSuppressions, isSuppressed } from './suppressions';
import { PRAGMA_RULE_ID, RULE_GATES, RULES } from './rules/index';
import { anchorRow, collectRunTargets, statementRow, type RunTargets } from './runTargets';

export type { RunTargetClass, RunTargetConvert, RunTargets } from './runTargets';
export { initPythonParser } from './parser';

export interface AnalyzeOptions {
  /** Chip id (common/chips.ts); reserved for chip-dependent rules. */
  chip?: string;
  /** Called when a rule throws on odd input; the rule's findings are dropped, the others kept. */
  onRuleError?: (ruleId: string, error: unknown) => void;
  /**
   * The previous tree of this document, already `edit()`ed to match `text`: tree-sitter then reparses
   * only the changed region. The caller still owns (and deletes) it.
   */
  oldTree?: Tree;
  /** Keep the new tree and return it in `tree` (the caller deletes it) for the next incremental parse. */
  keepTree?: boolean;
  /** Rule ids whose rules are skipped entirely (configuration `ignore`), to save their time. */
  skipRules?: ReadonlySet<string>;
  /**
   * Collect run targets (code lenses, `ane-lens run`); default true. `check` only needs findings, and
   * tracing every convert call back to its model is a tenth of the analysis time on large files.
   * 'lazy' (with `keepTree`): `targets` is computed on first read, from the kept tree, so the caller
   * must read it before it edits or deletes that tree (the language server reads it for code lenses).
   */
  runTargets?: boolean | 'lazy';
}

/** A mechanical edit that fixes one finding (1-based range, like the finding). */
export interface QuickFix {
  finding: Finding;
  title: string;
  range: { line: number; column: number; endLine: number; endColumn: number };
  newText: string;
  /** The one clearly right fix (shown first, applied by "fix all"); false for fixes that need care. */
  preferred: boolean;
}

export interface PythonAnalysis {
  findings: Finding[];
  /** Quick fixes, each pointing at its finding (same object as in `findings`). */
  fixes: QuickFix[];
  targets: RunTargets;
  /** Milliseconds spent parsing and analysing (for logs and the perf test). */
  parseMs: number;
  analyzeMs: number;
  /** Only with `keepTree`. */
  tree?: Tree;
  /** Findings silenced by `# ane: ignore` comments (for counts). */
  suppressed: number;
}

/** Findings for one Python file (1-based positions, UTF-16 columns like the editor). */
export async function analyzePython(text: string, file: string, options: AnalyzeOptions = {}): Promise<Finding[]> {
  return (await analyzePythonDocument(text, file, { runTargets: false, ...options })).findings;
}

/** Run targets (module classes with pragmas, ct.convert calls) of one Python file. */
export async function findRunTargets(text: string): Promise<RunTargets> {
  return (await analyzePythonDocument(text, '<memory>')).targets;
}

/** Findings and run targets from a single parse (what the language server uses). */
export async function analyzePythonDocument(text: string, file: string, options: AnalyzeOptions = {}): Promise<PythonAnalysis> {
  const parser = await initPythonParser();
  const t0 = performance.now();
  const tree = parsePython(parser, text, options.oldTree);
  const t1 = performance.now();
  try {
    const ctx = new AnalysisContext(tree, text, options.chip);
    let findings: Finding[] = [];
    let fixes: QuickFix[] = [];
    for (const rule of RULES) {
      if (options.skipRules?.has(rule.id)) continue;
      const gate = RULE_GATES[rule.id];
      if (gate && !gate.test(text)) continue;
      try {
        for (const hit of rule.check(ctx)) {
          const finding = toFinding(file, hit.node, rule.id, hit.severity ?? rule.severity, hit.message);
          findings.push(finding);
          if (hit.fix) {
            const { line, column, endLine, endColumn } = toFinding(file, hit.fix.node, rule.id, rule.severity, '');
            fixes.push({ finding, title: hit.fix.title, range: { line, column, endLine, endColumn }, newText: hit.fix.newText, preferred: hit.fix.preferred !== false });
          }
        }
      } catch (error) {
        options.onRuleError?.(rule.id, error);
      }
    }
    const noTargets: RunTargets = { classes: [], convertCalls: [] };
    let targets = noTargets;
    const lazyTargets = options.runTargets === 'lazy' && options.keepTree === true;
    try {
      findings.push(...pragmaFindings(ctx, file));
      if (options.runTargets !== false && !lazyTargets) targets = collectRunTargets(ctx);
    } catch (error) {
      options.onRuleError?.(PRAGMA_RULE_ID, error);
    }
    const suppressions = collectSuppressions(ctx.nodes('comment'), ctx.lines);
    const before = findings.length;
    if (suppressions.file !== undefined || suppressions.lines.size > 0) {
      findings = findings.filter((f) => !isSuppressed(suppressions, f));
      const kept = new Set(findings);
      fixes = fixes.filter((f) => kept.has(f.finding));
    }
    findings.sort((a, b) => a.line - b.line || a.column - b.column || a.rule.localeCompare(b.rule));
    const result: PythonAnalysis = {
      findings, fixes, targets, parseMs: t1 - t0, analyzeMs: performance.now() - t1,
      suppressed: before - findings.length, ...(options.keepTree ? { tree } : {}),
    };
    if (lazyTargets) {
      let computed: RunTargets | undefined;
      Object.defineProperty(result, 'targets', {
        enumerable: true,
        get: () => {
          if (!computed) {
            try {
              computed = collectRunTargets(ctx);
            } catch (error) {
              options.onRuleError?.(PRAGMA_RULE_ID, error);
              computed = noTargets;
            }
          }
          return computed;
        },
      });
    }
    return result;
  } finally {
    // Trees live in wasm memory; free them or a long editing session leaks.
    if (!options.keepTree) tree.delete();
  }
}

function toFinding(file: string, node: Node, rule: string, severity: Severity, message: string): Finding {
  return {
    file,
    line: node.startPosition.row + 1,
    column: node.startPosition.column + 1,
    endLine: node.endPosition.row + 1,
    endColumn: node.endPosition.column + 1,
    rule,
    severity,
    message,
  };
}

/** Malformed pragmas (error, at the bad token) and pragmas attached to nothing (warning). */
function pragmaFindings(ctx: AnalysisContext, file: string): Finding[] {
  const comments = ctx.nodes('comment').filter((c) => isPragmaLine(c.text));
  if (comments.length === 0) return [];
  const attached = new Set<number>();
  const anchors = [
    ...ctx.nodes('class_definition').map(anchorRow),
    ...ctx.calls.filter((c) => c.callee === 'coremltools.convert').map((c) => statementRow(c.node)),
  ];
  for (const row of anchors) {
    const pragma = pragmaAbove(ctx.lines, row);
    if (pragma) attached.add(pragma.row);
  }
  const findings: Finding[] = [];
  for (const comment of comments) {
    const row = comment.startPosition.row;
    const lineText = ctx.lines[row] ?? '';
    const onOwnLine = lineText.slice(0, comment.startPosition.column).trim() === '';
    const parse = onOwnLine ? pragmaAbove(ctx.lines, row + 1)?.parse : undefined;
    if (parse && !parse.ok) {
      findings.push({
        file, line: row + 1, column: parse.error.start + 1, endLine: row + 1,
        endColumn: Math.min(parse.error.end, lineText.length) + 1,
        rule: PRAGMA_RULE_ID, severity: 'error', message: `Malformed \`# ane:\` pragma: ${parse.error.message}.`,
      });
    } else if (!attached.has(row)) {
      findings.push({
        file, line: row + 1, column: comment.startPosition.column + 1, endLine: row + 1,
        endColumn: comment.endPosition.column + 1, rule: PRAGMA_RULE_ID, severity: 'warning',
        message: 'This `# ane:` pragma has no effect: put it directly above an nn.Module class (or its decorators) or a ct.convert statement, with no blank line between.',
      });
    }
  }
  return findings;
}
