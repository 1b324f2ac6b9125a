// The report's headline numbers, worded so nobody mistakes a simulation for a measurement.
import { noOverflowText, type RunReport } from '../../common/runReport';
import { CHIPS } from '../../common/chips';
import { formatBytes, formatMs, formatPercent } from './format';

export function chipLabel(id: string): string {
  return CHIPS.find((c) => c.id.toLowerCase() === id.toLowerCase())?.displayName ?? id;
}

export function backendNote(report: RunReport): string {
  // Only 'sim' exists today; the switch keeps a future backend from inheriting the simulator's wording.
  switch (report.backend) {
    case 'sim':
      return `sim: simulated ${chipLabel(report.chip)}, not measured on a device`;
  }
}

export function renderSummary(doc: Document, report: RunReport, title: string, onRevealLayer: (index: number) => void): HTMLElement {
  const section = doc.createElement('section');
  section.className = 'summary-section';
  const h1 = doc.createElement('h1');
  h1.textContent = title;
  const note = doc.createElement('p');
  note.className = 'backend-note';
  note.textContent = backendNote(report);
  section.append(h1, note);

  const counts = { ane: 0, gpu: 0, cpu: 0 };
  for (const layer of report.layers) counts[layer.device]++;

  const dl = doc.createElement('dl');
  dl.className = 'summary';
  const item = (label: string, value: string | Node, id: string): void => {
    const div = doc.createElement('div');
    const dt = doc.createElement('dt');
    dt.textContent = label;
    const dd = doc.createElement('dd');
    dd.dataset.field = id;
    if (typeof value === 'string') {
      dd.textContent = value;
      dd.title = value;
    } else dd.appendChild(value);
    div.append(dt, dd);
    dl.appendChild(div);
  };
  item('Backend', report.backend === 'sim' ? 'sim (simulator)' : report.backend, 'backend');
  item('Chip', `${report.chip} (${chipLabel(report.chip)})`, 'chip');
  item('Total estimated', formatMs(report.totalMs), 'total');
  item('ANE residency', `${formatPercent(report.aneResidency)} of layers · ${formatPercent(report.aneTimeShare)} of time`, 'residency');
  item('Segments', String(report.segments), 'segments');
  item('Peak activation memory', formatBytes(report.peakActivationBytes), 'peak');
  item('Layers', `${report.layers.length} (ANE ${counts.ane}, GPU ${counts.gpu}, CPU ${counts.cpu})`, 'layers');
  if (report.firstOverflowLayer === null) {
    item('First fp16 overflow', noOverflowText(report), 'overflow');
  } else {
    const index = report.layers.findIndex((l) => l.name === report.firstOverflowLayer);
    if (index >= 0) {
      const button = doc.createElement('button');
      button.className = 'link overflow';
      button.textContent = report.firstOverflowLayer;
      button.title = 'Reveal this layer in the source';
      button.addEventListener('click', () => onRevealLayer(index));
      item('First fp16 overflow', button, 'overflow');
    } else {
      item('First fp16 overflow', report.firstOverflowLayer, 'overflow');
    }
  }
  section.appendChild(dl);

  if (report.warnings.length > 0) {
    const ul = doc.createElement('ul');
    ul.className = 'warnings';
    for (const warning of report.warnings) {
      const li = doc.createElement('li');
      li.textContent = warning;
      ul.appendChild(li);
    }
    section.appendChild(ul);
  }
  return section;
}
