import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_PYTHON, interpreterFromPythonExtension, resolvePythonPath } from '../../client/src/pythonPath';

test('the aneLens.pythonPath setting wins and the Python extension is not even asked', async () => {
  let asked = 0;
  const result = await resolvePythonPath({
    configured: '${workspaceFolder}/.venv/bin/python',
    workspaceFolder: '/ws',
    pythonExtension: async () => { asked++; return {}; },
  });
  assert.deepEqual(result, { path: '/ws/.venv/bin/python', source: 'setting' });
  assert.equal(asked, 0);
  assert.deepEqual(await resolvePythonPath({ configured: '~/py/bin/python3', homeDir: '/home/u' }), { path: '/home/u/py/bin/python3', source: 'setting' });
});

test('empty setting: the interpreter selected in the Python extension (environments API)', async () => {
  const seen: unknown[] = [];
  const exports = {
    environments: {
      getActiveEnvironmentPath: (resource: unknown) => { seen.push(resource); return { id: 'conda-env', path: '/opt/conda/envs/ml' }; },
      resolveEnvironment: async (env: { path: string }) => ({ executable: { uri: { fsPath: `${env.path}/bin/python` } } }),
    },
  };
  const result = await resolvePythonPath({ configured: '  ', pythonExtension: async () => exports, resource: 'file:///ws/model.py' });
  assert.deepEqual(result, { path: '/opt/conda/envs/ml/bin/python', source: 'python-extension' });
  assert.deepEqual(seen, ['file:///ws/model.py']);
});

test('older Python extension: settings.getExecutionDetails().execCommand', async () => {
  const exports = { settings: { getExecutionDetails: () => ({ execCommand: ['/usr/bin/python3.11', '-X', 'utf8'] }) } };
  assert.equal(await interpreterFromPythonExtension(exports), '/usr/bin/python3.11');
  const result = await resolvePythonPath({ configured: '', pythonExtension: async () => exports });
  assert.deepEqual(result, { path: '/usr/bin/python3.11', source: 'python-extension' });
});

test('no Python extension, an unhelpful one, or a throwing one: python3', async () => {
  assert.deepEqual(await resolvePythonPath({ configured: '' }), { path: DEFAULT_PYTHON, source: 'default' });
  assert.deepEqual(await resolvePythonPath({ configured: '', pythonExtension: async () => undefined }), { path: 'python3', source: 'default' });
  assert.deepEqual(await resolvePythonPath({ configured: '', pythonExtension: async () => ({ environments: { getActiveEnvironmentPath: () => undefined } }) }), { path: 'python3', source: 'default' });
  const logs: string[] = [];
  const result = await resolvePythonPath({ configured: '', pythonExtension: async () => { throw new Error('activation failed'); }, log: (m) => logs.push(m) });
  assert.deepEqual(result, { path: 'python3', source: 'default' });
  assert.match(logs[0], /activation failed/);
});

test('environments API without resolveEnvironment falls back to the reported path', async () => {
  const exports = { environments: { getActiveEnvironmentPath: () => ({ path: '/ws/.venv/bin/python' }) } };
  assert.equal(await interpreterFromPythonExtension(exports), '/ws/.venv/bin/python');
  assert.equal(await interpreterFromPythonExtension(null), undefined);
  assert.equal(await interpreterFromPythonExtension({ settings: { getExecutionDetails: () => ({ execCommand: undefined }) } }), undefined);
});
