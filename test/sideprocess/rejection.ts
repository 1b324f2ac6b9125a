// Shared by the side-process tests: await a request that must fail, and hand back its typed error.
import assert from 'node:assert/strict';
import { SideProcessError } from '../../native/host/supervisor';

export async function rejection(p: Promise<unknown>): Promise<SideProcessError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof SideProcessError, `expected SideProcessError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected the request to fail');
}
