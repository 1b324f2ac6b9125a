// "$(pulse) ANE: sim · M4": which backend and chip a run will use; a click picks another chip.
import * as vscode from 'vscode';
import { CHIPS } from '../../common/chips';
import { readSettings } from './settings';

export class AneStatusBar implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;

  constructor() {
    this.item = vscode.window.createStatusBarItem('aneLens.status', vscode.StatusBarAlignment.Right, 100);
    this.item.name = 'ANE Lens';
    this.item.command = 'aneLens.selectChip';
    this.update();
    this.item.show();
  }

  update(): void {
    const { backend, chip } = readSettings();
    const chipName = CHIPS.find((c) => c.id === chip)?.displayName ?? chip;
    this.item.text = `$(pulse) ANE: ${backend} · ${chip}`;
    const tooltip = new vscode.MarkdownString(undefined, true);
    tooltip.appendMarkdown(`**ANE Lens** — backend \`${backend}\`: placement and timing are *simulated* for the ${chipName} Neural Engine, not measured on a device.\n\n`);
    tooltip.appendMarkdown('Click to choose another chip.');
    this.item.tooltip = tooltip;
    this.item.accessibilityInformation = { label: `ANE Lens: simulated ${chipName}. Choose chip.`, role: 'button' };
  }

  dispose(): void {
    this.item.dispose();
  }
}
