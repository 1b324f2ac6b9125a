// `# ane: ignore` comments, like Ruff's `# noqa`: on the line of a finding (`# ane: ignore[ANE021, ANE026]`
// or bare `# ane: ignore` for every rule) and file-wide (`# ane: ignore-file` / `# ane: ignore-file[ANE021]`
// on a line of its own, anywhere in the file; by convention in the header).
import type { Node } from 'web-tree-sitter';
import type { Finding } from '../../../common/findings';

const IGNORE = /#\s*ane\s*:\s*ignore(-file)?\b(?:\s*\[([^\]]*)\])?/;

type RuleSet = 'all' | Set<string>;

export interface Suppressions {
  file: RuleSet | undefined;
  /** 1-based line → rules ignored on it. */
  lines: Map<number, RuleSet>;
}

function merge(a: RuleSet | undefined, b: RuleSet): RuleSet {
  if (a === 'all' || b === 'all') return 'all';
  return a ? new Set([...a, ...b]) : b;
}

/** Parses the ignore list text `ANE021, ane026` into upper-case ids; empty or absent means every rule. */
function ruleList(text: string | undefined): RuleSet {
  if (text === undefined) return 'all';
  const ids = text.split(/[,\s]+/).map((s) => s.trim().toUpperCase()).filter((s) => s);
  return ids.length ? new Set(ids) : 'all';
}

export function isIgnoreComment(text: string): boolean {
  return IGNORE.test(text);
}

export function collectSuppressions(comments: readonly Node[], lineAt: (row: number) => string): Suppressions {
  const result: Suppressions = { file: undefined, lines: new Map() };
  for (const c of comments) {
    const m = IGNORE.exec(c.text);
    if (!m) continue;
    const rules = ruleList(m[2]);
    const row = c.startPosition.row;
    if (m[1]) {
      const ownLine = lineAt(row).slice(0, c.startPosition.column).trim() === '';
      if (ownLine) result.file = merge(result.file, rules);
      continue;
    }
    result.lines.set(row + 1, merge(result.lines.get(row + 1), rules));
  }
  return result;
}

/** The suppressions of several parts of a file (blocks), as one. */
export function mergeSuppressions(parts: readonly Suppressions[]): Suppressions {
  const result: Suppressions = { file: undefined, lines: new Map() };
  for (const p of parts) {
    if (p.file !== undefined) result.file = merge(result.file, p.file);
    for (const [line, rules] of p.lines) result.lines.set(line, merge(result.lines.get(line), rules));
  }
  return result;
}

function covers(set: RuleSet | undefined, rule: string): boolean {
  return set !== undefined && (set === 'all' || set.has(rule));
}

/** True when a finding is silenced by a comment on its first or last line, or file-wide. */
export function isSuppressed(s: Suppressions, f: Finding): boolean {
  return covers(s.file, f.rule) || covers(s.lines.get(f.line), f.rule) || covers(s.lines.get(f.endLine), f.rule);
}

/**
 * The edit that adds `rule` to the line's `# ane: ignore[...]` comment, or appends one. Returns the
 * 0-based column range to replace in that line and the new text.
 */
export function ignoreEdit(lineText: string, rule: string): { start: number; end: number; newText: string } {
  const m = /#\s*ane\s*:\s*ignore\s*\[([^\]]*)\]/.exec(lineText);
  if (m) {
    const inner = m[1]!.trim();
    const start = m.index + m[0].lastIndexOf('[') + 1;
    const end = m.index + m[0].length - 1;
    return { start, end, newText: inner ? `${inner}, ${rule}` : rule };
  }
  const end = lineText.length;
  const trimmed = lineText.replace(/\s+$/, '');
  return { start: trimmed.length, end, newText: `  # ane: ignore[${rule}]` };
}
