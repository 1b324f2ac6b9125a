// A finding is one diagnostic from the analysis engine, independent of LSP or CLI. The CLI's
// `check --format json` prints exactly an array of these (1-based positions); the server converts
// them to LSP diagnostics (0-based). Documented in docs/cli.md.

export type Severity = 'error' | 'warning' | 'info';

export interface Finding {
  file: string;
  /** 1-based. */
  line: number;
  /** 1-based, in UTF-16 code units like the editor. */
  column: number;
  endLine: number;
  endColumn: number;
  rule: string;
  severity: Severity;
  message: string;
}
