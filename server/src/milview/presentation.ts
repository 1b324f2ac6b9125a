// What the editor shows for a model, as pure functions of the plain data the language server sends
// (ModelViewResult; no vscode import and no reader, so the extension host bundles it and tests call it
// directly): the hover on a MIL view line and the model summary page of the custom editor.
import type { ModelViewOp, ModelViewResult } from '../../../common/lspExtensions';

/** The op shown on a 1-based MIL view line, if any. */
export function opAtLine(view: ModelViewResult, line: number): { op: ModelViewOp; index: number } | undefined {
  const index = view.mil.opLines.indexOf(line);
  return index < 0 ? undefined : { op: view.ops[index]!, index };
}

/** Escapes what Markdown would format inside op names and reasons (emphasis, code, links, html). */
const mdEscape = (s: string) => s.replace(/([\\`*_[\]<>|])/g, '\\$1');

/** Markdown for a hover on an op line: outputs with shapes and dtypes, inputs, attributes, placement. */
export function hoverMarkdown(view: ModelViewResult, line: number): string | undefined {
  const hit = opAtLine(view, line);
  if (!hit) return undefined;
  const { op } = hit;
  const p = op.placement ?? { device: 'ane' as const };
  const lines = [
    `**${mdEscape(op.op)}** \`${op.name}\`${op.originalOp !== op.op ? ` — from ${mdEscape(op.originalOp)}` : ''}`,
    '',
    p.device === 'ane'
      ? `$(check) Runs on the **ANE** of the ${view.chip}`
      : `$(warning) Runs on the **${p.device.toUpperCase()}**${p.rule ? ` (${p.rule})` : ''}: ${mdEscape(p.reason ?? 'no ANE path')}`,
    '',
    ...op.outputs.map((o) => `- out \`${o.name}\`: ${o.type}`),
    ...op.inputs.map((i) => `- in \`${i.name}\`: ${i.type}`),
  ];
  const attrs = Object.entries(op.attrs);
  if (attrs.length > 0) lines.push('', attrs.map(([k, v]) => `\`${k}=${JSON.stringify(v)}\``).join(' '));
  return lines.join('\n');
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

export interface SummaryPageOptions {
  cspSource: string;
  nonce: string;
  /** Whether the simulator can run this format; when not, `runNote` says why. */
  canRun: boolean;
  runNote?: string;
}

/** The custom editor's page: inputs/outputs, op histogram, residency, fallbacks with reasons, actions. */
export function summaryPage(view: ModelViewResult, o: SummaryPageOptions): string {
  const s = view.summary;
  const row = (cells: string[]) => `<tr>${cells.map((c) => `<td>${c}</td>`).join('')}</tr>`;
  const io = (list: Array<{ name: string; type: string }>) =>
    list.map((v) => row([`<code>${esc(v.name)}</code>`, esc(v.type)])).join('');
  const hist = Object.entries(view.histogram).sort((a, b) => b[1] - a[1]).map(([k, v]) => row([`<code>${esc(k)}</code>`, String(v)])).join('');
  const fallbacks = new Map<string, { device: string; rule: string; reason: string; ops: string[] }>();
  for (const op of view.ops) {
    const p = op.placement;
    if (!p || p.device === 'ane') continue;
    const key = `${p.device}|${p.rule ?? ''}|${op.op}|${p.reason ?? ''}`;
    const f = fallbacks.get(key) ?? { device: p.device.toUpperCase(), rule: p.rule ?? '', reason: `${op.op}: ${p.reason ?? 'no ANE path'}`, ops: [] };
    f.ops.push(op.name);
    fallbacks.set(key, f);
  }
  const fb = [...fallbacks.values()].map((f) => row([f.device, esc(f.rule), `${f.ops.length}×`, `${esc(f.reason)}<br><small>${esc(f.ops.slice(0, 5).join(', '))}${f.ops.length > 5 ? ', …' : ''}</small>`])).join('');
  const pct = (s.aneResidency * 100).toFixed(1);
  const warnings = view.warnings.map((w) => `<li>${esc(w)}</li>`).join('');
  const kind = view.modelType + (view.specificationVersion ? ` (spec v${view.specificationVersion})` : '') + (view.opset ? `, opset ${view.opset}` : '');
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src ${esc(o.cspSource)} 'nonce-${esc(o.nonce)}'; script-src 'nonce-${esc(o.nonce)}'">
<style nonce="${esc(o.nonce)}">
body { font-family: var(--vscode-font-family); color: var(--vscode-foreground); padding: 0 1em; }
table { border-collapse: collapse; margin-bottom: 1em; } td, th { padding: 2px 10px; text-align: left; vertical-align: top; border-bottom: 1px solid var(--vscode-panel-border); }
.bar { height: 8px; background: var(--vscode-editorWarning-foreground); width: 100%; max-width: 420px; } .bar > div { height: 8px; background: var(--vscode-testing-iconPassed); }
button { margin-right: .5em; } .note { color: var(--vscode-descriptionForeground); }
</style></head>
<body>
<h2>${esc(view.name)} <small class="note">${esc(kind)}</small></h2>
<p><button id="openText">Open as text</button><button id="run" ${o.canRun ? '' : 'disabled'}>▶ Run on ANE</button>${o.runNote ? ` <span class="note" id="runNote">${esc(o.runNote)}</span>` : ''}</p>
<h3>ANE residency on ${esc(view.chip)}: ${s.aneOps}/${s.ops} ops (${pct}%)</h3>
<div class="bar" title="${pct}% of ops on the ANE"><div style="width:${pct}%"></div></div>
<p>${s.segments.length} segment(s), ${s.transfers.length} transfer point(s); ${s.byDevice.gpu} op(s) on the GPU, ${s.byDevice.cpu} on the CPU.</p>
${warnings ? `<h3>Notes</h3><ul>${warnings}</ul>` : ''}
<h3>Inputs</h3><table>${io(view.inputs)}</table>
<h3>Outputs</h3><table>${io(view.outputs)}</table>
<h3>Off the ANE</h3>${fb ? `<table><tr><th>device</th><th>rule</th><th>ops</th><th>reason</th></tr>${fb}</table>` : '<p>Every op is placed on the ANE.</p>'}
<h3>Ops by type (${view.sourceOps} in the file)</h3><table>${hist}</table>
<script nonce="${esc(o.nonce)}">
const vscode = acquireVsCodeApi();
document.getElementById('openText').addEventListener('click', () => vscode.postMessage({ type: 'openText' }));
const run = document.getElementById('run');
run.addEventListener('click', () => { if (!run.disabled) vscode.postMessage({ type: 'run' }); });
</script>
</body></html>`;
}

/** The page shown when the model cannot be read: the one-line error. */
export function errorPage(message: string, o: Pick<SummaryPageOptions, 'cspSource' | 'nonce'>): string {
  return `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src ${esc(o.cspSource)} 'nonce-${esc(o.nonce)}'">
<style nonce="${esc(o.nonce)}">body { font-family: var(--vscode-font-family); color: var(--vscode-errorForeground); padding: 1em; }</style>
</head><body><h3>ANE Lens cannot read this model</h3><p>${esc(message)}</p></body></html>`;
}
