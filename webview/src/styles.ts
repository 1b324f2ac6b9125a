// The panel's own styles, adopted as a constructable stylesheet: the CSP then needs no
// 'unsafe-inline' for styles (style-src does not govern constructed sheets). Colours and fonts come
// from the --vscode-* variables the editor injects, so every theme works, high contrast included.

export const ROW_HEIGHT = 24;

const css = `
:root { color-scheme: light dark; }
body {
  margin: 0; padding: 0; height: 100vh; overflow: hidden;
  font-family: var(--vscode-font-family); font-size: var(--vscode-font-size);
  color: var(--vscode-foreground, CanvasText); background: var(--vscode-editor-background, Canvas);
}
#app { display: flex; flex-direction: column; height: 100vh; box-sizing: border-box; padding: 8px 16px 0; }
h1 { font-size: 1.3em; font-weight: 600; margin: 4px 0 2px; }
.backend-note { color: var(--vscode-descriptionForeground); margin: 0 0 8px; }
.summary { display: grid; grid-template-columns: repeat(auto-fill, minmax(170px, 1fr)); gap: 6px 16px; margin: 0 0 8px; }
.summary div { min-width: 0; }
.summary dt { color: var(--vscode-descriptionForeground); font-size: 0.9em; }
.summary dd { margin: 0; font-size: 1.15em; font-variant-numeric: tabular-nums; overflow-wrap: anywhere; }
.warnings { margin: 0 0 8px; padding-left: 18px; color: var(--vscode-editorWarning-foreground); }
.toolbar { display: flex; gap: 12px; align-items: center; margin: 4px 0 6px; color: var(--vscode-descriptionForeground); }
.toolbar label { display: inline-flex; gap: 4px; align-items: center; cursor: pointer; }
.toolbar input { accent-color: var(--vscode-focusBorder); margin: 0; }
.table-wrap { flex: 1; min-height: 120px; overflow: auto; border-top: 1px solid var(--vscode-panel-border, transparent); }
table { border-collapse: collapse; table-layout: fixed; width: 100%; min-width: 780px; }
thead th {
  position: sticky; top: 0; z-index: 1; text-align: left; font-weight: 600; height: ${ROW_HEIGHT}px; padding: 0 6px;
  background: var(--vscode-editor-background, Canvas); border-bottom: 1px solid var(--vscode-panel-border, var(--vscode-foreground));
}
thead th button {
  all: unset; cursor: pointer; font: inherit; color: inherit;
}
thead th button:focus-visible { outline: 1px solid var(--vscode-focusBorder); }
thead th.num, td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.layer { height: ${ROW_HEIGHT}px; cursor: pointer; }
tr.layer td { padding: 0 6px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; height: ${ROW_HEIGHT}px; box-sizing: border-box; }
tr.layer:hover { background: var(--vscode-list-hoverBackground); }
tr.layer:focus { outline: 1px solid var(--vscode-focusBorder); outline-offset: -1px; background: var(--vscode-list-focusBackground, var(--vscode-list-hoverBackground)); }
tr.layer.off-ane td.name { color: var(--vscode-editorWarning-foreground); }
tr.spacer td { padding: 0; border: 0; }
td.reason { color: var(--vscode-descriptionForeground); }
td.src { color: var(--vscode-textLink-foreground); }
td.src.none { color: var(--vscode-disabledForeground, var(--vscode-descriptionForeground)); }
.share { display: flex; align-items: center; gap: 6px; justify-content: flex-end; }
.share .bar { display: inline-block; height: 6px; background: var(--vscode-progressBar-background); border-radius: 1px; }
vscode-badge.dev-ane { --vscode-badge-background: var(--vscode-testing-iconPassed, #388a34); --vscode-badge-foreground: var(--vscode-editor-background); }
vscode-badge.dev-gpu { --vscode-badge-background: var(--vscode-charts-blue, #1a85ff); --vscode-badge-foreground: var(--vscode-editor-background); }
vscode-badge.dev-cpu { --vscode-badge-background: var(--vscode-editorWarning-foreground, #bf8803); --vscode-badge-foreground: var(--vscode-editor-background); }
.overflow { color: var(--vscode-errorForeground); }
.link { all: unset; cursor: pointer; color: var(--vscode-textLink-foreground); }
.link:focus-visible { outline: 1px solid var(--vscode-focusBorder); }
.status { display: flex; gap: 8px; align-items: center; margin: 16px 0; }
.error { color: var(--vscode-errorForeground); white-space: pre-wrap; }
.empty { color: var(--vscode-descriptionForeground); margin: 16px 0; }
`;

export function adoptPanelStyles(doc: Document): void {
  const view = doc.defaultView as (Window & typeof globalThis) | null;
  const Sheet = view?.CSSStyleSheet;
  if (Sheet && 'replaceSync' in Sheet.prototype && 'adoptedStyleSheets' in doc) {
    const sheet = new Sheet();
    sheet.replaceSync(css);
    doc.adoptedStyleSheets = [...doc.adoptedStyleSheets, sheet];
    return;
  }
  // Engines without constructable stylesheets: a <style> element carrying the script's nonce.
  const style = doc.createElement('style');
  const nonce = (doc.querySelector('script[nonce]') as HTMLScriptElement | null)?.nonce;
  if (nonce) style.nonce = nonce;
  style.textContent = css;
  doc.head.appendChild(style);
}
