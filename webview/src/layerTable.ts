// Per-layer table with windowed rendering: only the rows in view (plus a margin) exist in the DOM,
// between two spacer rows that keep the scrollbar true, so 10,000+ layers stay responsive.
import type { LayerReport, RunReport } from '../../common/runReport';
import { baseName, formatError, formatMs, formatPercent } from './format';
import { ROW_HEIGHT } from './styles';

const OVERSCAN = 10;
/** Rows drawn when the container has no height yet (hidden panel, or a DOM without layout). */
const FALLBACK_VISIBLE = 40;

export type SortMode = 'order' | 'time';

interface Column {
  key: string;
  label: string;
  width: string;
  numeric?: boolean;
  sort?: SortMode;
}

const COLUMNS: Column[] = [
  { key: 'index', label: '#', width: '4em', numeric: true, sort: 'order' },
  { key: 'name', label: 'Layer', width: '28%' },
  { key: 'op', label: 'Op', width: '11%' },
  { key: 'device', label: 'Device', width: '5.5em' },
  { key: 'ms', label: 'Est. time', width: '7em', numeric: true, sort: 'time' },
  { key: 'share', label: 'Share', width: '9em', numeric: true },
  { key: 'reason', label: 'Why not ANE', width: '20%' },
  { key: 'err', label: 'fp16 max abs err', width: '9em', numeric: true },
  { key: 'src', label: 'Source', width: '10%' },
];

export class LayerTable {
  readonly element: HTMLElement;
  private readonly doc: Document;
  private readonly table: HTMLTableElement;
  private readonly tbody: HTMLTableSectionElement;
  private readonly topSpacer: HTMLTableRowElement;
  private readonly bottomSpacer: HTMLTableRowElement;
  private report: RunReport | undefined;
  /** Indices into report.layers, in display order. */
  private view: number[] = [];
  private sort: SortMode = 'order';
  private offAneOnly = false;
  private start = -1;
  private end = -1;
  /** Position in `view` of the row that holds the tab stop (roving tabindex). */
  private active = 0;
  private frame = 0;

  constructor(doc: Document, private readonly onReveal: (layerIndex: number) => void) {
    this.doc = doc;
    this.element = doc.createElement('div');
    this.element.className = 'table-wrap';
    this.table = doc.createElement('table');
    this.table.setAttribute('role', 'grid');
    this.table.setAttribute('aria-label', 'Layers');
    const colgroup = doc.createElement('colgroup');
    const thead = doc.createElement('thead');
    const headRow = doc.createElement('tr');
    for (const col of COLUMNS) {
      const c = doc.createElement('col');
      c.style.width = col.width;
      colgroup.appendChild(c);
      const th = doc.createElement('th');
      th.scope = 'col';
      if (col.numeric) th.className = 'num';
      if (col.sort) {
        th.dataset.sort = col.sort;
        const button = doc.createElement('button');
        button.textContent = col.label;
        button.title = col.sort === 'time' ? 'Sort by estimated time, slowest first' : 'Sort in graph order';
        button.addEventListener('click', () => this.setSort(col.sort!));
        th.appendChild(button);
      } else {
        th.textContent = col.label;
      }
      headRow.appendChild(th);
    }
    thead.appendChild(headRow);
    this.tbody = doc.createElement('tbody');
    this.topSpacer = this.spacerRow();
    this.bottomSpacer = this.spacerRow();
    this.tbody.append(this.topSpacer, this.bottomSpacer);
    this.table.append(colgroup, thead, this.tbody);
    this.element.appendChild(this.table);

    this.element.addEventListener('scroll', () => this.scheduleRender());
    this.doc.defaultView?.addEventListener('resize', () => this.scheduleRender());
    this.tbody.addEventListener('click', (event) => {
      const row = (event.target as Element | null)?.closest?.('tr.layer') as HTMLTableRowElement | null;
      if (!row) return;
      const position = Number(row.dataset.position);
      this.active = position;
      this.onReveal(this.view[position]);
    });
    this.tbody.addEventListener('keydown', (event) => this.onKey(event));
  }

  setReport(report: RunReport): void {
    this.report = report;
    this.active = 0;
    this.element.scrollTop = 0;
    this.rebuildView();
  }

  setSort(sort: SortMode): void {
    this.sort = sort;
    this.rebuildView();
  }

  setOffAneOnly(value: boolean): void {
    this.offAneOnly = value;
    this.rebuildView();
  }

  get rowCount(): number {
    return this.view.length;
  }

  private rebuildView(): void {
    const layers = this.report?.layers ?? [];
    let view = layers.map((_, i) => i);
    if (this.offAneOnly) view = view.filter((i) => layers[i].device !== 'ane');
    if (this.sort === 'time') view.sort((a, b) => layers[b].estMs - layers[a].estMs || a - b);
    this.view = view;
    for (const th of this.table.querySelectorAll<HTMLTableCellElement>('th[data-sort]')) {
      // Graph order reads as ascending '#'; time order is slowest first.
      th.setAttribute('aria-sort', th.dataset.sort === this.sort ? (this.sort === 'time' ? 'descending' : 'ascending') : 'none');
    }
    this.active = Math.min(this.active, Math.max(0, view.length - 1));
    this.table.setAttribute('aria-rowcount', String(view.length + 1));
    this.start = this.end = -1;
    this.render();
  }

  private spacerRow(): HTMLTableRowElement {
    const row = this.doc.createElement('tr');
    row.className = 'spacer';
    row.setAttribute('aria-hidden', 'true');
    const cell = this.doc.createElement('td');
    cell.colSpan = COLUMNS.length;
    row.appendChild(cell);
    return row;
  }

  private scheduleRender(): void {
    const view = this.doc.defaultView;
    if (this.frame || !view?.requestAnimationFrame) {
      if (!this.frame) this.render();
      return;
    }
    this.frame = view.requestAnimationFrame(() => {
      this.frame = 0;
      this.render();
    });
  }

  /** Draws the rows of the current scroll window, reusing nothing: rows are cheap, thousands are not. */
  render(): void {
    const total = this.view.length;
    const visible = Math.ceil(this.viewportHeight() / ROW_HEIGHT);
    const first = Math.floor(this.element.scrollTop / ROW_HEIGHT);
    const start = Math.max(0, Math.min(first - OVERSCAN, total - visible - OVERSCAN));
    const end = Math.min(total, Math.max(0, first) + visible + OVERSCAN);
    if (start === this.start && end === this.end) return;
    const hadFocus = this.tbody.contains(this.doc.activeElement);
    this.start = start;
    this.end = end;
    while (this.topSpacer.nextSibling && this.topSpacer.nextSibling !== this.bottomSpacer) this.topSpacer.nextSibling.remove();
    const fragment = this.doc.createDocumentFragment();
    for (let position = start; position < end; position++) fragment.appendChild(this.row(position));
    this.tbody.insertBefore(fragment, this.bottomSpacer);
    this.setSpacer(this.topSpacer, start * ROW_HEIGHT);
    this.setSpacer(this.bottomSpacer, (total - end) * ROW_HEIGHT);
    if (hadFocus) this.focusActive();
  }

  private setSpacer(row: HTMLTableRowElement, px: number): void {
    row.style.height = `${px}px`;
    row.style.display = px === 0 ? 'none' : '';
  }

  private row(position: number): HTMLTableRowElement {
    const report = this.report!;
    const index = this.view[position];
    const layer = report.layers[index];
    const doc = this.doc;
    const tr = doc.createElement('tr');
    tr.className = layer.device === 'ane' ? 'layer' : 'layer off-ane';
    tr.dataset.position = String(position);
    tr.dataset.layerIndex = String(index);
    tr.tabIndex = position === this.active ? 0 : -1;
    tr.setAttribute('aria-rowindex', String(position + 2));
    tr.title = rowTitle(layer);

    const cell = (text: string, className?: string): HTMLTableCellElement => {
      const td = doc.createElement('td');
      td.textContent = text;
      if (className) td.className = className;
      return td;
    };
    tr.appendChild(cell(String(index + 1), 'num'));
    tr.appendChild(cell(layer.name, 'name'));
    tr.appendChild(cell(layer.originalOp && layer.originalOp !== layer.op ? `${layer.op} (${layer.originalOp})` : layer.op, 'op'));
    const deviceCell = doc.createElement('td');
    const badge = doc.createElement('vscode-badge');
    badge.className = `dev-${layer.device}`;
    badge.textContent = layer.device.toUpperCase();
    deviceCell.appendChild(badge);
    tr.appendChild(deviceCell);
    tr.appendChild(cell(formatMs(layer.estMs), 'num ms'));

    const share = report.totalMs > 0 ? layer.estMs / report.totalMs : 0;
    const shareCell = doc.createElement('td');
    shareCell.className = 'num';
    const shareBox = doc.createElement('span');
    shareBox.className = 'share';
    const bar = doc.createElement('span');
    bar.className = 'bar';
    bar.style.width = `${Math.max(share > 0 ? 1 : 0, Math.round(share * 48))}px`;
    const pct = doc.createElement('span');
    pct.textContent = formatPercent(share);
    shareBox.append(bar, pct);
    shareCell.appendChild(shareBox);
    tr.appendChild(shareCell);

    const reason = layer.device === 'ane' ? '' : [layer.rule, layer.reason].filter(Boolean).join(': ');
    tr.appendChild(cell(reason, 'reason'));
    const numerics = layer.numerics;
    let err = numerics ? formatError(numerics.maxAbsError) : '—';
    if (numerics && (numerics.infCount > 0 || numerics.nanCount > 0)) err = `${err} (${numerics.infCount} inf, ${numerics.nanCount} NaN)`;
    tr.appendChild(cell(err, numerics && (numerics.infCount > 0 || numerics.nanCount > 0) ? 'num overflow' : 'num'));
    tr.appendChild(layer.source ? cell(`${baseName(layer.source.file)}:${layer.source.line}`, 'src') : cell('—', 'src none'));
    return tr;
  }

  private viewportHeight(): number {
    return this.element.clientHeight || FALLBACK_VISIBLE * ROW_HEIGHT;
  }

  private onKey(event: KeyboardEvent): void {
    const total = this.view.length;
    if (total === 0) return;
    const page = Math.max(1, Math.floor(this.viewportHeight() / ROW_HEIGHT) - 1);
    let next = this.active;
    switch (event.key) {
      case 'ArrowDown': next++; break;
      case 'ArrowUp': next--; break;
      case 'PageDown': next += page; break;
      case 'PageUp': next -= page; break;
      case 'Home': next = 0; break;
      case 'End': next = total - 1; break;
      case 'Enter':
      case ' ':
        event.preventDefault();
        this.onReveal(this.view[this.active]);
        return;
      default:
        return;
    }
    event.preventDefault();
    this.moveTo(Math.max(0, Math.min(total - 1, next)));
  }

  private moveTo(position: number): void {
    this.active = position;
    const top = position * ROW_HEIGHT;
    const headerHeight = ROW_HEIGHT;
    const viewHeight = this.viewportHeight();
    if (top < this.element.scrollTop) this.element.scrollTop = top;
    else if (top + ROW_HEIGHT > this.element.scrollTop + viewHeight - headerHeight) {
      this.element.scrollTop = top + ROW_HEIGHT - viewHeight + headerHeight;
    }
    this.start = this.end = -1;
    this.render();
    this.focusActive();
  }

  private focusActive(): void {
    for (const row of this.tbody.querySelectorAll<HTMLTableRowElement>('tr.layer')) {
      const isActive = Number(row.dataset.position) === this.active;
      row.tabIndex = isActive ? 0 : -1;
      if (isActive) row.focus();
    }
  }
}

function rowTitle(layer: LayerReport): string {
  const lines = [`${layer.name} (${layer.op}) on ${layer.device.toUpperCase()}`];
  if (layer.reason) lines.push(layer.reason);
  if (layer.notExecuted) lines.push(`not executed: ${layer.notExecuted}`);
  if (layer.outputShape) lines.push(`output (${layer.outputShape.join(', ')})`);
  lines.push(layer.source ? `${layer.source.file}:${layer.source.line} — click or Enter to open` : 'no source location');
  return lines.join('\n');
}
