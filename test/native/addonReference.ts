// Straightforward reference kernels (float64, index arithmetic written out) to check the addon against.
export interface T { shape: number[]; data: Float64Array }

export const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
export const strides = (s: number[]) => s.map((_, i) => size(s.slice(i + 1)));
export const tensor = (shape: number[], data: ArrayLike<number>): T => ({ shape, data: Float64Array.from(data) });

export function conv2d(x: T, w: T, b: T | null, o: { strides: number[]; pad: number[]; dilations: number[]; groups: number }): T {
  const [N, C, H, W] = x.shape;
  const [Co, Cg, kH, kW] = w.shape;
  const [sH, sW] = o.strides, [dH, dW] = o.dilations, [pt, pb, pl, pr] = o.pad;
  const Ho = Math.floor((H + pt + pb - dH * (kH - 1) - 1) / sH) + 1;
  const Wo = Math.floor((W + pl + pr - dW * (kW - 1) - 1) / sW) + 1;
  const perGroup = Co / o.groups;
  const out = new Float64Array(N * Co * Ho * Wo);
  for (let n = 0; n < N; n++) for (let co = 0; co < Co; co++) {
    const g = Math.floor(co / perGroup);
    for (let oh = 0; oh < Ho; oh++) for (let ow = 0; ow < Wo; ow++) {
      let acc = b ? b.data[co] : 0;
      for (let ci = 0; ci < Cg; ci++) for (let kh = 0; kh < kH; kh++) for (let kw = 0; kw < kW; kw++) {
        const ih = oh * sH - pt + kh * dH, iw = ow * sW - pl + kw * dW;
        if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
        acc += x.data[((n * C + g * Cg + ci) * H + ih) * W + iw] * w.data[((co * Cg + ci) * kH + kh) * kW + kw];
      }
      out[((n * Co + co) * Ho + oh) * Wo + ow] = acc;
    }
  }
  return { shape: [N, Co, Ho, Wo], data: out };
}

/** numpy matmul for rank >= 2 operands with batch broadcasting. */
export function matmul(x: T, y: T, tx: boolean, ty: boolean): T {
  const xr = x.shape.length, yr = y.shape.length;
  const xm = x.shape[xr - 2], xk = x.shape[xr - 1], yk = y.shape[yr - 2], yn = y.shape[yr - 1];
  const M = tx ? xk : xm, K = tx ? xm : xk, N = ty ? yk : yn;
  const bx = x.shape.slice(0, -2), by = y.shape.slice(0, -2);
  const br = Math.max(bx.length, by.length);
  const pad = (s: number[]) => [...Array(br - s.length).fill(1), ...s];
  const px = pad(bx), py = pad(by);
  const batch = px.map((d, i) => Math.max(d, py[i]));
  const out = new Float64Array(size(batch) * M * N);
  for (let bi = 0; bi < size(batch); bi++) {
    const idx = batch.map((_, i) => Math.floor(bi / size(batch.slice(i + 1))) % batch[i]);
    const offX = idx.reduce((acc, v, i) => acc * px[i] + (px[i] === 1 ? 0 : v), 0) * xm * xk;
    const offY = idx.reduce((acc, v, i) => acc * py[i] + (py[i] === 1 ? 0 : v), 0) * yk * yn;
    for (let m = 0; m < M; m++) for (let n = 0; n < N; n++) {
      let acc = 0;
      for (let k = 0; k < K; k++) {
        const a = tx ? x.data[offX + k * xk + m] : x.data[offX + m * xk + k];
        const b = ty ? y.data[offY + n * yn + k] : y.data[offY + k * yn + n];
        acc += a * b;
      }
      out[(bi * M + m) * N + n] = acc;
    }
  }
  return { shape: [...batch, M, N], data: out };
}

export function softmax(x: T, axis: number): T {
  const ax = axis < 0 ? axis + x.shape.length : axis;
  const st = strides(x.shape);
  const out = new Float64Array(x.data.length);
  for (let i = 0; i < x.data.length; i++) {
    const pos = Math.floor(i / st[ax]) % x.shape[ax];
    const base = i - pos * st[ax];
    let max = -Infinity;
    for (let k = 0; k < x.shape[ax]; k++) max = Math.max(max, x.data[base + k * st[ax]]);
    let sum = 0;
    for (let k = 0; k < x.shape[ax]; k++) sum += Math.exp(x.data[base + k * st[ax]] - max);
    out[i] = Math.exp(x.data[i] - max) / sum;
  }
  return { shape: x.shape, data: out };
}

export function batchNorm(x: T, mean: number[], variance: number[], gamma: number[], beta: number[], eps: number): T {
  const C = x.shape[1], inner = size(x.shape.slice(2));
  const out = x.data.map((v, i) => {
    const c = Math.floor(i / inner) % C;
    return ((v - mean[c]) / Math.sqrt(variance[c] + eps)) * gamma[c] + beta[c];
  });
  return { shape: x.shape, data: out };
}

export function pool2d(x: T, kind: 'max' | 'avg', o: { kernel: number[]; strides: number[]; pad: number[]; ceil: boolean; excludePad: boolean }): T {
  const [N, C, H, W] = x.shape;
  const [kH, kW] = o.kernel, [sH, sW] = o.strides, [pt, pb, pl, pr] = o.pad;
  const outDim = (n: number, k: number, s: number, p0: number, p1: number) => {
    let d = (o.ceil ? Math.ceil((n + p0 + p1 - k) / s) : Math.floor((n + p0 + p1 - k) / s)) + 1;
    if (o.ceil && (d - 1) * s >= n + p0) d--;
    return d;
  };
  const Ho = outDim(H, kH, sH, pt, pb), Wo = outDim(W, kW, sW, pl, pr);
  const out = new Float64Array(N * C * Ho * Wo);
  for (let nc = 0; nc < N * C; nc++) for (let oh = 0; oh < Ho; oh++) for (let ow = 0; ow < Wo; ow++) {
    const h0 = oh * sH - pt, w0 = ow * sW - pl;
    const h1 = Math.min(h0 + kH, H + pb), w1 = Math.min(w0 + kW, W + pr);
    let acc = kind === 'max' ? -Infinity : 0, count = 0;
    for (let h = Math.max(h0, 0); h < Math.min(h1, H); h++) for (let w = Math.max(w0, 0); w < Math.min(w1, W); w++) {
      const v = x.data[(nc * H + h) * W + w];
      acc = kind === 'max' ? Math.max(acc, v) : acc + v;
      count++;
    }
    out[(nc * Ho + oh) * Wo + ow] = kind === 'max' ? acc : acc / (o.excludePad ? count : (h1 - h0) * (w1 - w0));
  }
  return { shape: [N, C, Ho, Wo], data: out };
}

export function transpose(x: T, perm: number[]): T {
  const shape = perm.map((p) => x.shape[p]);
  const xs = strides(x.shape), os = strides(shape);
  const out = new Float64Array(x.data.length);
  for (let i = 0; i < out.length; i++) {
    let off = 0;
    for (let k = 0; k < shape.length; k++) off += (Math.floor(i / os[k]) % shape[k]) * xs[perm[k]];
    out[i] = x.data[off];
  }
  return { shape, data: out };
}

export function concat(parts: T[], axis: number): T {
  const shape = [...parts[0].shape];
  shape[axis] = parts.reduce((a, p) => a + p.shape[axis], 0);
  const outer = size(shape.slice(0, axis));
  const out: number[] = [];
  for (let o = 0; o < outer; o++)
    for (const p of parts) {
      const row = size(p.shape.slice(axis));
      for (let i = 0; i < row; i++) out.push(p.data[o * row + i]);
    }
  return { shape, data: Float64Array.from(out) };
}

/** numpy-broadcast binary op. */
export function broadcast(x: T, y: T, f: (a: number, b: number) => number): T {
  const r = Math.max(x.shape.length, y.shape.length);
  const pad = (s: number[]) => [...Array(r - s.length).fill(1), ...s];
  const px = pad(x.shape), py = pad(y.shape);
  const shape = px.map((d, i) => Math.max(d, py[i]));
  const os = strides(shape), xs = strides(px), ys = strides(py);
  const out = new Float64Array(size(shape));
  for (let i = 0; i < out.length; i++) {
    let ox = 0, oy = 0;
    for (let k = 0; k < r; k++) {
      const v = Math.floor(i / os[k]) % shape[k];
      if (px[k] !== 1) ox += v * xs[k];
      if (py[k] !== 1) oy += v * ys[k];
    }
    out[i] = f(x.data[ox], y.data[oy]);
  }
  return { shape, data: out };
}

/** Largest |a-b| / (1 + |b|). */
export function maxScaledError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) return Infinity;
  let m = 0;
  for (let i = 0; i < actual.length; i++) {
    const e = Math.abs(actual[i] - expected[i]) / (1 + Math.abs(expected[i]));
    m = Number.isNaN(e) ? Infinity : Math.max(m, e);
  }
  return m;
}

/** Each value rounded to 11 significant bits, ties to even: binary16 for values in its normal range (the
 *  random test operands stay in it). */
export function half(t: T): T {
  const data = t.data.map((x) => {
    if (x === 0 || !Number.isFinite(x)) return x;
    const q = 2 ** (Math.floor(Math.log2(Math.abs(x))) - 10);
    const r = x / q, f = Math.floor(r), d = r - f;
    return (d > 0.5 || (d === 0.5 && f % 2 !== 0) ? f + 1 : f) * q;
  });
  return { shape: t.shape, data };
}
