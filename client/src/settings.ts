// Typed access to the aneLens.* settings. One place reads them, so defaults live in package.json only.
import * as vscode from 'vscode';
import { CHIPS, DEFAULT_CHIP } from '../../common/chips';

export const SECTION = 'aneLens';

export interface AneLensSettings {
  pythonPath: string;
  chip: string;
  backend: 'sim';
}

export function readSettings(scope?: vscode.ConfigurationScope): AneLensSettings {
  const config = vscode.workspace.getConfiguration(SECTION, scope);
  const chip = config.get<string>('chip', DEFAULT_CHIP);
  return {
    // In an untrusted workspace VS Code hides workspace values of restricted settings, so a
    // repository cannot point this at its own "python".
    pythonPath: config.get<string>('pythonPath', ''),
    // A hand-edited unknown chip falls back to the default rather than failing every run.
    chip: CHIPS.some((c) => c.id === chip) ? chip : DEFAULT_CHIP,
    backend: 'sim',
  };
}

export async function writeChip(chip: string): Promise<void> {
  const config = vscode.workspace.getConfiguration(SECTION);
  const inspected = config.inspect<string>('chip');
  // Keep the choice where the user made it before: workspace if set there, else user settings.
  const target = inspected?.workspaceFolderValue !== undefined || inspected?.workspaceValue !== undefined
    ? vscode.ConfigurationTarget.Workspace
    : vscode.ConfigurationTarget.Global;
  await config.update('chip', chip, target);
}
