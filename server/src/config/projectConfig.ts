// Project configuration: `[tool.ane-lens]` in the nearest pyproject.toml above a source file, shared
// by the CLI and the language server (docs/config.md). Parsing never throws: a TOML syntax error or a
// bad value becomes a ConfigProblem with a position in pyproject.toml, and the valid keys still apply.
import { readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, sep } from 'node:path';
import { parse as parseToml, TomlError } from 'smol-toml';
import { CHIPS, findChip } from '../../../common/chips';
import type { Finding, Severity } from '../../../common/findings';
import { PRAGMA_RULE_ID, RULES } from '../python/rules/index';

export type SeverityOverride = Severity | 'off';

export interface AneLensConfig {
  chip?: string;
  /** Rule ids or id prefixes to enable (default: all). */
  select?: string[];
  /** Rule ids or id prefixes to disable. */
  ignore?: string[];
  /** Glob (relative to the pyproject.toml folder) → rule ids/prefixes ignored in matching files. */
  perFileIgnores?: Array<{ pattern: string; rules: string[] }>;
  /** Rule id → severity, or "off". */
  severity?: Record<string, SeverityOverride>;
}

/** A problem in the config file; 1-based positions in pyproject.toml. */
export interface ConfigProblem {
  file: string;
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
  severity: 'error' | 'warning';
  message: string;
}

export interface LoadedConfig {
  /** The pyproject.toml that was read, if any. */
  file?: string;
  /** Folder per-file-ignores are relative to. */
  root?: string;
  config: AneLensConfig;
  problems: ConfigProblem[];
}

export const CONFIG_SECTION = 'tool.ane-lens';
const KNOWN_KEYS = ['chip', 'select', 'ignore', 'per-file-ignores', 'severity'];
const SEVERITIES = ['error', 'warning', 'info', 'off'];

function allRuleIds(): string[] {
  return [...RULES.map((r) => r.id), PRAGMA_RULE_ID];
}

/** True when a select/ignore entry names a rule or a prefix of one (`ANE02`, `ALL`). */
export function matchesAnyRule(s: string): boolean {
  return isRuleSelector(s);
}

function isRuleSelector(s: string): boolean {
  const up = s.toUpperCase();
  return up === 'ALL' || allRuleIds().some((id) => id.startsWith(up));
}

export function matchesSelector(rule: string, selectors: readonly string[]): boolean {
  return selectors.some((s) => s.toUpperCase() === 'ALL' || rule.startsWith(s.toUpperCase()));
}

/** Position of `needle` inside the [tool.ane-lens] section (or of the header), for problem ranges. */
function locate(text: string, needle: RegExp | undefined): { line: number; column: number; length: number } {
  const lines = text.split(/\r\n|\r|\n/);
  let start = lines.findIndex((l) => /^\s*\[\s*tool\s*\.\s*["']?ane-lens["']?\s*\]/.test(l));
  if (start < 0) start = Math.max(0, lines.findIndex((l) => /ane-lens/.test(l)));
  if (needle) {
    for (let i = start; i < lines.length; i++) {
      if (i > start && /^\s*\[[^\]]/.test(lines[i]!) && !/ane-lens/.test(lines[i]!)) break;
      const m = needle.exec(lines[i]!);
      if (m) return { line: i + 1, column: m.index + 1, length: Math.max(1, m[0].length) };
    }
  }
  return { line: start + 1, column: 1, length: Math.max(1, (lines[start] ?? '').length) };
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Parses pyproject.toml text; `file` is only used in problems. */
export function parseConfigText(text: string, file: string): { config: AneLensConfig; problems: ConfigProblem[] } {
  const problems: ConfigProblem[] = [];
  const problem = (message: string, needle?: RegExp, severity: 'error' | 'warning' = 'error') => {
    const at = locate(text, needle);
    problems.push({ file, line: at.line, column: at.column, endLine: at.line, endColumn: at.column + at.length, severity, message });
  };
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(text) as Record<string, unknown>;
  } catch (e) {
    if (e instanceof TomlError) {
      const first = e.message.split('\n')[0]!.replace(/^Invalid TOML document: /, '');
      problems.push({ file, line: e.line, column: e.column, endLine: e.line, endColumn: e.column + 1, severity: 'error', message: `pyproject.toml is not valid TOML: ${first}` });
    } else {
      problems.push({ file, line: 1, column: 1, endLine: 1, endColumn: 2, severity: 'error', message: `pyproject.toml could not be read: ${(e as Error).message}` });
    }
    return { config: {}, problems };
  }
  const tool = doc.tool as Record<string, unknown> | undefined;
  const section = tool && typeof tool === 'object' ? tool['ane-lens'] : undefined;
  if (section === undefined) return { config: {}, problems };
  if (typeof section !== 'object' || section === null || Array.isArray(section)) {
    problem('[tool.ane-lens] must be a table');
    return { config: {}, problems };
  }
  const raw = section as Record<string, unknown>;
  const config: AneLensConfig = {};
  const keyAt = (key: string) => new RegExp(`^\\s*["']?${escapeRe(key)}["']?\\s*=`);

  for (const key of Object.keys(raw)) {
    if (!KNOWN_KEYS.includes(key)) problem(`unknown key "${key}" in [tool.ane-lens] (known: ${KNOWN_KEYS.join(', ')})`, keyAt(key), 'warning');
  }
  if ('chip' in raw) {
    const chip = raw.chip;
    let known: string | undefined;
    try {
      if (typeof chip === 'string') known = findChip(chip).id;
    } catch { /* reported below */ }
    if (known) config.chip = known;
    else problem(`chip: unknown chip ${JSON.stringify(chip)}; known chips: ${CHIPS.map((c) => c.id).join(', ')}`, keyAt('chip'));
  }
  const ruleList = (key: 'select' | 'ignore'): string[] | undefined => {
    const v = raw[key];
    if (v === undefined) return undefined;
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) {
      problem(`${key} must be a list of rule ids, e.g. ${key} = ["ANE021", "ANE03"]`, keyAt(key));
      return undefined;
    }
    const good: string[] = [];
    for (const id of v as string[]) {
      if (isRuleSelector(id)) good.push(id.toUpperCase());
      else problem(`${key}: "${id}" matches no rule (rule ids look like ANE021; prefixes such as ANE02 select a group)`, new RegExp(`["']${escapeRe(id)}["']`));
    }
    return good;
  };
  const select = ruleList('select');
  if (select) config.select = select;
  const ignore = ruleList('ignore');
  if (ignore) config.ignore = ignore;
  if ('per-file-ignores' in raw) {
    const v = raw['per-file-ignores'];
    if (typeof v !== 'object' || v === null || Array.isArray(v)) {
      problem('per-file-ignores must be a table of glob = [rule ids], e.g. "tests/**" = ["ANE021"]', keyAt('per-file-ignores'));
    } else {
      config.perFileIgnores = [];
      for (const [pattern, rules] of Object.entries(v as Record<string, unknown>)) {
        if (!Array.isArray(rules) || rules.some((x) => typeof x !== 'string')) {
          problem(`per-file-ignores."${pattern}" must be a list of rule ids`, new RegExp(`["']?${escapeRe(pattern)}["']?\\s*=`));
          continue;
        }
        const bad = (rules as string[]).filter((r) => !isRuleSelector(r));
        for (const b of bad) problem(`per-file-ignores."${pattern}": "${b}" matches no rule`, new RegExp(`["']${escapeRe(b)}["']`));
        config.perFileIgnores.push({ pattern, rules: (rules as string[]).filter(isRuleSelector).map((r) => r.toUpperCase()) });
      }
    }
  }
  if ('severity' in raw) {
    const v = raw.severity;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) {
      problem('severity must be a table of rule id = "error" | "warning" | "info" | "off"', keyAt('severity'));
    } else {
      config.severity = {};
      for (const [id, level] of Object.entries(v as Record<string, unknown>)) {
        if (!allRuleIds().includes(id.toUpperCase())) {
          problem(`severity: unknown rule "${id}"`, new RegExp(`["']?${escapeRe(id)}["']?\\s*=`));
        } else if (typeof level !== 'string' || !SEVERITIES.includes(level)) {
          problem(`severity.${id}: ${JSON.stringify(level)} is not one of ${SEVERITIES.map((s) => `"${s}"`).join(', ')}`, new RegExp(`["']?${escapeRe(id)}["']?\\s*=`));
        } else {
          config.severity[id.toUpperCase()] = level as SeverityOverride;
        }
      }
    }
  }
  return { config, problems };
}

/** The nearest pyproject.toml at or above `dir`, or undefined. */
export function findPyproject(dir: string): string | undefined {
  for (let d = dir, i = 0; i < 64; i++) {
    const candidate = join(d, 'pyproject.toml');
    try {
      if (statSync(candidate).isFile()) return candidate;
    } catch { /* not here */ }
    const up = dirname(d);
    if (up === d) return undefined;
    d = up;
  }
  return undefined;
}

interface CacheEntry { mtimeMs: number; size: number; loaded: LoadedConfig }
const fileCache = new Map<string, CacheEntry>();
const dirCache = new Map<string, string | null>();

/** Forgets cached lookups (after a pyproject.toml is created, moved or deleted). */
export function clearConfigCache(): void {
  fileCache.clear();
  dirCache.clear();
}

/** Reads (with an mtime-checked cache) the config that applies to `sourceFile`. */
export function loadConfigFor(sourceFile: string): LoadedConfig {
  const dir = dirname(sourceFile);
  let path = dirCache.get(dir);
  if (path === undefined) {
    path = findPyproject(dir) ?? null;
    dirCache.set(dir, path);
  }
  if (!path) return { config: {}, problems: [] };
  return loadConfigFile(path);
}

export function loadConfigFile(path: string): LoadedConfig {
  let st;
  try {
    st = statSync(path);
  } catch {
    clearConfigCache();
    return { config: {}, problems: [] };
  }
  const hit = fileCache.get(path);
  if (hit && hit.mtimeMs === st.mtimeMs && hit.size === st.size) return hit.loaded;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const loaded: LoadedConfig = { file: path, root: dirname(path), config: {}, problems: [{ file: path, line: 1, column: 1, endLine: 1, endColumn: 2, severity: 'error', message: `cannot read pyproject.toml: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` }] };
    return loaded;
  }
  const { config, problems } = parseConfigText(text, path);
  const loaded: LoadedConfig = { file: path, root: dirname(path), config, problems };
  fileCache.set(path, { mtimeMs: st.mtimeMs, size: st.size, loaded });
  return loaded;
}

/** Glob → RegExp over `/`-separated relative paths: `**` any depth, `*` within a segment, `?` one char. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      const slash = glob[i + 2] === '/';
      re += slash ? '(?:.*/)?' : '.*';
      i += slash ? 2 : 1;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += escapeRe(c);
  }
  return new RegExp(`^${re}$`);
}

/** Overrides given on the command line (they replace the config's values). */
export interface ConfigOverrides {
  chip?: string;
  select?: string[];
  ignore?: string[];
}

/** Rule ids that no finding of `file` can survive (not selected, or ignored), so the engine can skip them. */
export function disabledRules(loaded: LoadedConfig, overrides: ConfigOverrides = {}): Set<string> {
  const select = overrides.select ?? loaded.config.select;
  const ignore = overrides.ignore ?? loaded.config.ignore ?? [];
  const off = new Set<string>();
  for (const r of RULES) {
    if ((select && !matchesSelector(r.id, select)) || matchesSelector(r.id, ignore) || loaded.config.severity?.[r.id] === 'off') off.add(r.id);
  }
  return off;
}

/** Applies select/ignore/per-file-ignores/severity to the findings of one source file. */
export function applyConfig(findings: Finding[], loaded: LoadedConfig, sourceFile: string, overrides: ConfigOverrides = {}): Finding[] {
  return applyConfigKeeping(findings, loaded, sourceFile, overrides).map(([, kept]) => kept);
}

/** Like applyConfig, pairing each kept finding with the finding it came from. */
export function applyConfigKeeping(findings: readonly Finding[], loaded: LoadedConfig, sourceFile: string, overrides: ConfigOverrides = {}): Array<[Finding, Finding]> {
  const { config } = loaded;
  const select = overrides.select ?? config.select;
  const ignore = overrides.ignore ?? config.ignore ?? [];
  let fileIgnores: string[] = [];
  if (config.perFileIgnores?.length && loaded.root) {
    const rel = relative(loaded.root, sourceFile).split(sep).join('/');
    const base = basename(sourceFile);
    for (const { pattern, rules } of config.perFileIgnores) {
      const re = globToRegExp(pattern);
      if (re.test(rel) || (!pattern.includes('/') && re.test(base))) fileIgnores = fileIgnores.concat(rules);
    }
  }
  const out: Array<[Finding, Finding]> = [];
  for (const f of findings) {
    if (select && !matchesSelector(f.rule, select) && f.rule !== PRAGMA_RULE_ID) continue;
    if (matchesSelector(f.rule, ignore) || matchesSelector(f.rule, fileIgnores)) continue;
    const level = config.severity?.[f.rule];
    if (level === 'off') continue;
    out.push([f, level && level !== f.severity ? withSeverity(f, level) : f]);
  }
  return out;
}

// The language server reuses finding objects from edit to edit (and builds each one's diagnostic once), so a
// finding with an overridden severity is the same copy every time it is asked for.
const severityCopies = new WeakMap<Finding, Map<Severity, Finding>>();

/** `f` with another severity: one copy per finding and severity. */
function withSeverity(f: Finding, severity: Severity): Finding {
  let copies = severityCopies.get(f);
  if (!copies) severityCopies.set(f, (copies = new Map()));
  let copy = copies.get(severity);
  if (!copy) copies.set(severity, (copy = { ...f, severity }));
  return copy;
}
