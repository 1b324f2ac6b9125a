// The shape every source rule has. A rule looks at the shared AnalysisContext and returns hits;
// analyzePython turns hits into Findings, the LSP into diagnostics and hovers.
import type { Node } from 'web-tree-sitter';
import type { Severity } from '../../../../common/findings';
import type { AnalysisContext } from '../context';

export interface QuickFixEdit {
  title: string;
  node: Node;
  newText: string;
  /** Default true: the one clearly right fix. */
  preferred?: boolean;
}

export interface RuleHit {
  /** The node the squiggle covers. */
  node: Node;
  /** Names the concrete thing (the layer, its sizes, the argument value). */
  message: string;
  /**
   * A mechanical quick fix: replace `node`'s text with `newText`. Only where the fix is unambiguous. A
   * function when building it reads more of the tree: `check` (the CLI) asks for no fixes and skips it.
   */
  fix?: QuickFixEdit | (() => QuickFixEdit | undefined);
  /**
   * The message quotes the line of a file fact, written `{line}` in `message`: `sequence:<Class>` (the class's
   * (B, S, C) evidence) or `layerNorm` (the file's first LayerNorm). The line is filled in from the current
   * facts whenever the finding is published, so a finding reused after lines moved quotes the right one.
   */
  citesLine?: string;
  /** Overrides the rule's default severity for this hit (e.g. a hard limit vs a slow path in one rule). */
  severity?: Severity;
}

export interface Rule {
  id: string;
  severity: Severity;
  /** Short title shown as the hover heading. */
  title: string;
  /** Markdown: why it matters on the ANE and how to fix it. Shown in hovers. */
  explanation: string;
  check(ctx: AnalysisContext): RuleHit[];
}
