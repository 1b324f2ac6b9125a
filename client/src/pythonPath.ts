// Which interpreter traces a PyTorch module: the aneLens.pythonPath setting, else the interpreter
// selected in the Python extension, else python3. Pure (the extension's exports are passed in), so
// the order is unit tested with fakes.

export type PythonPathSource = 'setting' | 'python-extension' | 'default';

export interface ResolvedPython {
  path: string;
  source: PythonPathSource;
}

export interface PythonPathInputs {
  /** Value of aneLens.pythonPath ("" when unset). */
  configured: string;
  /** First workspace folder, for ${workspaceFolder} in the setting. */
  workspaceFolder?: string;
  homeDir?: string;
  /**
   * Loads the `ms-python.python` extension's exports, or undefined when it is not installed.
   * Called only when the setting is empty.
   */
  pythonExtension?: () => Promise<unknown>;
  /** Document the run is for, passed to the Python extension's per-resource lookups. */
  resource?: unknown;
  log?: (message: string) => void;
}

export const DEFAULT_PYTHON = 'python3';

export function expandConfiguredPath(value: string, workspaceFolder?: string, homeDir?: string): string {
  let out = value.trim();
  if (workspaceFolder) out = out.replace(/\$\{workspaceFolder\}/g, workspaceFolder);
  if (homeDir && (out === '~' || out.startsWith('~/'))) out = homeDir + out.slice(1);
  return out;
}

export async function resolvePythonPath(inputs: PythonPathInputs): Promise<ResolvedPython> {
  const configured = expandConfiguredPath(inputs.configured, inputs.workspaceFolder, inputs.homeDir);
  if (configured !== '') return { path: configured, source: 'setting' };
  if (inputs.pythonExtension) {
    try {
      const exports = await inputs.pythonExtension();
      const fromExtension = exports === undefined ? undefined : await interpreterFromPythonExtension(exports, inputs.resource);
      if (fromExtension) return { path: fromExtension, source: 'python-extension' };
    } catch (err) {
      // A broken or outdated Python extension must not block runs: fall back to python3, but say so.
      inputs.log?.(`Python extension did not give an interpreter: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return { path: DEFAULT_PYTHON, source: 'default' };
}

/**
 * Reads the active interpreter from the Python extension's API. Two generations exist: the
 * `environments` API (getActiveEnvironmentPath, resolveEnvironment) and the older
 * `settings.getExecutionDetails().execCommand`. Anything unexpected yields undefined.
 */
export async function interpreterFromPythonExtension(exports: unknown, resource?: unknown): Promise<string | undefined> {
  if (typeof exports !== 'object' || exports === null) return undefined;
  const api = exports as {
    environments?: {
      getActiveEnvironmentPath?: (resource?: unknown) => { id?: string; path?: string } | undefined;
      resolveEnvironment?: (env: unknown) => Promise<{ executable?: { uri?: { fsPath?: string } } } | undefined>;
    };
    settings?: { getExecutionDetails?: (resource?: unknown) => { execCommand?: string[] } | undefined };
  };
  const environments = api.environments;
  if (environments?.getActiveEnvironmentPath) {
    const active = environments.getActiveEnvironmentPath(resource);
    if (active?.path) {
      // The path may name an environment folder (conda); resolveEnvironment turns it into the executable.
      if (environments.resolveEnvironment) {
        const resolved = await environments.resolveEnvironment(active);
        const exe = resolved?.executable?.uri?.fsPath;
        if (exe) return exe;
      }
      return active.path;
    }
  }
  const exec = api.settings?.getExecutionDetails?.(resource)?.execCommand;
  if (Array.isArray(exec) && typeof exec[0] === 'string' && exec[0] !== '') return exec[0];
  return undefined;
}
