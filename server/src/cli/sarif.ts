// SARIF 2.1.0 output for `ane-lens check --format sarif` (GitHub code scanning, IDE SARIF viewers).
// One run, the rule catalog as tool.driver.rules (with doc links), one result per finding.
import { isAbsolute, join, relative, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Finding, Severity } from '../../../common/findings';
import { findRule, PRAGMA_RULE, RULES } from '../python/rules/index';
import { ruleDocsRoot } from '../python/rules/ruleDocs';

export const SARIF_SCHEMA = 'https://json.schemastore.org/sarif-2.1.0.json';

/**
 * Where the rule pages live. The project has no public URL, so by default the links are file:// URIs of
 * docs/rules/ in this install (they open offline, like the editor's links); CI can pass a web base with
 * `ANE_LENS_DOCS_URL` (e.g. the repository's docs/rules/ folder) so uploaded results link to the web.
 */
function docsBase(): string {
  const env = process.env.ANE_LENS_DOCS_URL?.trim();
  if (env) return env.endsWith('/') ? env : `${env}/`;
  return `${pathToFileURL(join(ruleDocsRoot(), 'docs', 'rules')).href}/`;
}

type SarifLevel = 'error' | 'warning' | 'note';
const LEVEL: Record<Severity, SarifLevel> = { error: 'error', warning: 'warning', info: 'note' };

export interface SarifLog {
  version: '2.1.0';
  $schema: string;
  runs: Array<{
    tool: { driver: { name: string; version: string; semanticVersion: string; informationUri: string; rules: SarifRule[] } };
    originalUriBaseIds?: Record<string, { uri: string }>;
    results: SarifResult[];
    columnKind: 'utf16CodeUnits';
  }>;
}

export interface SarifRule {
  id: string;
  name: string;
  shortDescription: { text: string };
  fullDescription: { text: string; markdown: string };
  helpUri: string;
  help: { text: string; markdown: string };
  defaultConfiguration: { level: SarifLevel };
}

export interface SarifResult {
  ruleId: string;
  ruleIndex: number;
  level: SarifLevel;
  message: { text: string };
  locations: Array<{ physicalLocation: { artifactLocation: { uri: string; uriBaseId?: string }; region: { startLine: number; startColumn: number; endLine: number; endColumn: number } } }>;
}

/** Markdown → plain text for the text variants (SARIF viewers that do not render markdown). */
function plain(markdown: string): string {
  return markdown.replace(/\*\*([^*]+)\*\*/g, '$1').replace(/`([^`]+)`/g, '$1');
}

function pascal(title: string): string {
  return title.replace(/[^A-Za-z0-9]+/g, ' ').trim().split(' ').map((w) => w[0]!.toUpperCase() + w.slice(1)).join('');
}

function ruleEntry(meta: { id: string; severity: Severity; title: string; explanation: string }, base: string): SarifRule {
  const helpUri = `${base}${meta.id}.md`;
  return {
    id: meta.id,
    name: pascal(meta.title),
    shortDescription: { text: plain(meta.title) },
    fullDescription: { text: plain(meta.explanation), markdown: meta.explanation },
    helpUri,
    help: { text: `${plain(meta.explanation)}\n\nSee ${helpUri}`, markdown: `${meta.explanation}\n\n[${meta.id} documentation](${helpUri})` },
    defaultConfiguration: { level: LEVEL[meta.severity] },
  };
}

/**
 * Builds the SARIF log. Paths under `baseDir` become relative URIs against the `%SRCROOT%` base
 * (what code-scanning uploads expect); others become absolute file URIs. Findings of ONNX placement
 * (rule ids outside the Python catalog) get a rule entry of their own so ruleIndex stays valid.
 */
export function toSarif(findings: readonly Finding[], version: string, baseDir: string = process.cwd()): SarifLog {
  const base = docsBase();
  const rules: SarifRule[] = [...RULES, PRAGMA_RULE].map((r) => ruleEntry(r, base));
  const index = new Map(rules.map((r, i) => [r.id, i]));
  const results: SarifResult[] = [];
  for (const f of findings) {
    let i = index.get(f.rule);
    if (i === undefined) {
      const meta = findRule(f.rule) ?? { id: f.rule, severity: f.severity, title: `${f.rule} (model placement)`, explanation: `Placement finding ${f.rule} from the ONNX reader; see docs/rules.` };
      i = rules.push(ruleEntry(meta, base)) - 1;
      index.set(f.rule, i);
    }
    const rel = isAbsolute(f.file) ? relative(baseDir, f.file) : f.file;
    const inside = !rel.startsWith('..') && !isAbsolute(rel);
    const artifactLocation = inside
      ? { uri: rel.split(sep).map(encodeURIComponent).join('/'), uriBaseId: '%SRCROOT%' }
      : { uri: pathToFileURL(f.file).href };
    results.push({
      ruleId: f.rule,
      ruleIndex: i,
      level: LEVEL[f.severity],
      message: { text: f.message },
      locations: [{ physicalLocation: { artifactLocation, region: { startLine: f.line, startColumn: f.column, endLine: f.endLine, endColumn: f.endColumn } } }],
    });
  }
  return {
    version: '2.1.0',
    $schema: SARIF_SCHEMA,
    runs: [{
      tool: { driver: { name: 'ANE Lens', version, semanticVersion: version, informationUri: `${base}README.md`, rules } },
      originalUriBaseIds: { '%SRCROOT%': { uri: pathToFileURL(baseDir.endsWith(sep) ? baseDir : baseDir + sep).href } },
      results,
      columnKind: 'utf16CodeUnits',
    }],
  };
}
