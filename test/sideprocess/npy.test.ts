// The .npy reader/writer: round trip, the dtypes numpy writes, and clear refusals for what we do not read.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { encodeNpyFloat32, NpyError, parseNpy, readNpyFile, writeNpyFloat32 } from '../../native/host/npy';
import { findTorchPython, NO_TORCH } from '../helpers';

function npy(descr: string, shape: string, body: Buffer, fortran = 'False', major = 1): Buffer {
  const dict = `{'descr': '${descr}', 'fortran_order': ${fortran}, 'shape': ${shape}, }`;
  const prefix = major === 1 ? 10 : 12;
  const total = Math.ceil((prefix + dict.length + 1) / 64) * 64;
  const head = Buffer.alloc(total, 0x20);
  head.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0]);
  if (major === 1) head.writeUInt16LE(total - prefix, 8);
  else head.writeUInt32LE(total - prefix, 8);
  head.write(dict, prefix, 'latin1');
  head[total - 1] = 0x0a;
  return Buffer.concat([head, body]);
}

test('float32 round trip keeps values and shape, header aligned to 64 bytes', () => {
  const data = Float32Array.from([1.5, -2, 3.25, 0, 1e-8, 65504]);
  const bytes = encodeNpyFloat32(data, [2, 3]);
  assert.equal((bytes.indexOf(0x0a) + 1) % 64, 0);
  const back = parseNpy(bytes, 'mem');
  assert.equal(back.dtype, '<f4');
  assert.deepEqual(back.shape, [2, 3]);
  assert.deepEqual([...back.data], [...data]);
  assert.deepEqual(parseNpy(encodeNpyFloat32(Float32Array.from([7]), [1]), 'mem').shape, [1]);
  assert.deepEqual(parseNpy(encodeNpyFloat32(Float32Array.from([7]), []), 'mem').shape, []);
});

test('reads <f2, <f8, <i4, <i8 and version 2.0 headers', () => {
  const f2 = Buffer.alloc(6);
  [0x3c00, 0xc000, 0x7c00].forEach((h, i) => f2.writeUInt16LE(h, i * 2)); // 1, -2, inf
  assert.deepEqual([...parseNpy(npy('<f2', '(3,)', f2), 'f2').data], [1, -2, Infinity]);
  const f8 = Buffer.alloc(16);
  f8.writeDoubleLE(0.25, 0);
  f8.writeDoubleLE(-3, 8);
  assert.deepEqual([...parseNpy(npy('<f8', '(1, 2)', f8, 'False', 2), 'f8').data], [0.25, -3]);
  const i4 = Buffer.alloc(8);
  i4.writeInt32LE(-7, 0);
  i4.writeInt32LE(9, 4);
  assert.deepEqual([...parseNpy(npy('<i4', '(2,)', i4), 'i4').data], [-7, 9]);
  const i8 = Buffer.alloc(8);
  i8.writeBigInt64LE(-12n, 0);
  assert.deepEqual([...parseNpy(npy('<i8', '(1,)', i8), 'i8').data], [-12]);
});

test('refuses Fortran order, unknown dtypes, bad magic and truncated data with one clear message', () => {
  assert.throws(() => parseNpy(npy('<f4', '(2, 2)', Buffer.alloc(16), 'True'), 'a.npy'), (e: Error) =>
    e instanceof NpyError && /a\.npy: Fortran-order arrays are not supported/.test(e.message));
  assert.throws(() => parseNpy(npy('>f4', '(1,)', Buffer.alloc(4)), 'b.npy'), /b\.npy: unsupported dtype '>f4'; supported: <f2, <f4, <f8, <i4, <i8/);
  assert.throws(() => parseNpy(npy('|u1', '(1,)', Buffer.alloc(1)), 'c.npy'), /unsupported dtype '\|u1'/);
  assert.throws(() => parseNpy(Buffer.from('PK\x03\x04 not npy'), 'd.npy'), /d\.npy: not a \.npy file \(bad magic\)/);
  assert.throws(() => parseNpy(npy('<f4', '(4,)', Buffer.alloc(8)), 'e.npy'), /e\.npy: data is truncated: shape \(4\) needs 16 bytes, file has 8/);
  assert.throws(() => readNpyFile('/nonexistent/x.npy'), /\/nonexistent\/x\.npy: cannot read/);
});

const python = findTorchPython();
test('numpy reads what we write and we read what numpy writes', { skip: python ? false : NO_TORCH }, (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ane-lens-npy-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeNpyFloat32(join(dir, 'ours.npy'), Float32Array.from([1, 2, 3, 4, 5, 6]), [3, 2]);
  const out = execFileSync(python!, ['-c', [
    'import numpy as np, sys',
    `a = np.load(${JSON.stringify(join(dir, 'ours.npy'))})`,
    'print(a.dtype, a.shape, float(a[2, 1]))',
    `np.save(${JSON.stringify(join(dir, 'theirs.npy'))}, np.arange(12, dtype=np.float16).reshape(2, 2, 3) / 4)`,
  ].join('\n')], { encoding: 'utf8' });
  assert.equal(out.trim(), 'float32 (3, 2) 6.0');
  const theirs = readNpyFile(join(dir, 'theirs.npy'));
  assert.equal(theirs.dtype, '<f2');
  assert.deepEqual(theirs.shape, [2, 2, 3]);
  assert.equal(theirs.data[11], 2.75);
});
