// Quick pick of the chips the simulator knows, with the numbers it uses for each.
import * as vscode from 'vscode';
import { CHIPS } from '../../common/chips';
import { readSettings, writeChip } from './settings';

export async function selectChip(): Promise<void> {
  const current = readSettings().chip;
  type Item = vscode.QuickPickItem & { id: string };
  const items: Item[] = CHIPS.map((c) => ({
    id: c.id,
    label: `${c.id === current ? '$(check) ' : ''}${c.id}`,
    description: c.displayName,
    detail: `ANE ${c.ane.tflops} TFLOP/s fp16 · ${c.ane.bandwidthGBs} GB/s · ${c.ane.dispatchMs} ms dispatch · ${(c.ane.workingSetBytes / 2 ** 20).toFixed(1)} MB on-chip`,
  }));
  const picked = await vscode.window.showQuickPick(items, {
    title: 'ANE Lens: chip to simulate',
    placeHolder: `Current: ${current}`,
    matchOnDescription: true,
  });
  if (picked && picked.id !== current) await writeChip(picked.id);
}
