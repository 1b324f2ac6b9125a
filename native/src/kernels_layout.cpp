// Data-movement ops: reshape family, transpose, concat, split, slice_by_index, pad.
#include <algorithm>
#include <cstring>

#include "kernels.hpp"

namespace ane {

std::vector<Shape> reshapeShape(const OpNode& op, const Shapes& in) {
  const Shape& x = needShape(op, in, 0, "x");
  requireAttr(op, "shape");
  std::vector<int64_t> target = op.attrInts("shape", {});
  // The contract asks readers for a resolved shape; 0 (copy) and one -1 (infer) are still accepted.
  Shape out;
  int inferAt = -1;
  int64_t known = 1;
  for (size_t i = 0; i < target.size(); i++) {
    int64_t d = target[i];
    if (d == 0) {
      if (i >= x.size()) opError(op, "shape entry 0 at axis " + std::to_string(i) + " has no input axis to copy");
      d = x[i];
    }
    if (d == -1) {
      if (inferAt >= 0) opError(op, "shape has more than one -1");
      inferAt = static_cast<int>(i);
      out.push_back(1);
      continue;
    }
    if (d < 0 || d > (int64_t(1) << 31)) opError(op, "shape entry " + std::to_string(d) + " is invalid");
    if (d != 0 && known > (int64_t(1) << 40) / d) opError(op, "shape " + formatShape(Shape(target.begin(), target.end())) + " has more than 2^31 elements");
    out.push_back(d);
    known *= d;
  }
  const int64_t n = numel(x);
  if (inferAt >= 0) {
    if (known == 0 || n % known != 0) opError(op, "cannot infer -1 in shape for " + std::to_string(n) + " elements");
    out[inferAt] = n / known;
  }
  if (numel(out) != n) opError(op, "cannot reshape " + formatShape(x) + " (" + std::to_string(n) + " elements) to " + formatShape(out));
  return {out};
}

std::vector<Shape> expandDimsShape(const OpNode& op, const Shapes& in) {
  const Shape& x = needShape(op, in, 0, "x");
  requireAttr(op, "axes");
  std::vector<int64_t> axes = op.attrInts("axes", {});
  if (axes.empty()) opError(op, "attribute 'axes' is empty");
  const size_t r = x.size() + axes.size();
  std::vector<bool> isNew(r, false);
  for (int64_t a : axes) {
    int ax = normAxis(op, a, r, "axes");
    if (isNew[ax]) opError(op, "axis repeated in 'axes'");
    isNew[ax] = true;
  }
  Shape out;
  size_t k = 0;
  for (size_t i = 0; i < r; i++) out.push_back(isNew[i] ? 1 : x[k++]);
  return {out};
}

std::vector<Shape> squeezeShape(const OpNode& op, const Shapes& in) {
  const Shape& x = needShape(op, in, 0, "x");
  std::vector<int64_t> axes = op.attrInts("axes", {});
  std::vector<bool> drop(x.size(), false);
  if (axes.empty()) {
    for (size_t i = 0; i < x.size(); i++) drop[i] = x[i] == 1;
  } else {
    for (int64_t a : axes) {
      int ax = normAxis(op, a, x.size(), "axes");
      if (x[ax] != 1) opError(op, "cannot squeeze axis " + std::to_string(a) + " of size " + std::to_string(x[ax]));
      drop[ax] = true;
    }
  }
  Shape out;
  for (size_t i = 0; i < x.size(); i++)
    if (!drop[i]) out.push_back(x[i]);
  return {out};
}

void copyKernel(const OpNode& op, const Inputs& in, Outputs& out) {
  const Tensor& x = needInput(op, in, 0, "x");
  std::copy(x.data.begin(), x.data.end(), out[0].data.begin());
}

// Declared in kernels.hpp. A transpose that keeps the last axis (attention's head split) or a step-1 slice
// copies whole rows here instead of walking elements.
void stridedCopy(const float* x, int64_t base, const std::vector<int64_t>& counts, const std::vector<int64_t>& step, float* out) {
  int64_t total = 1;
  for (int64_t c : counts) total *= c;
  if (total == 0) return;
  const size_t r = counts.size();
  const bool rows = r > 0 && step[r - 1] == 1;
  const int walked = static_cast<int>(rows ? r - 1 : r);  // the axes the index steps through
  const int64_t len = rows ? counts[r - 1] : 1;
  std::vector<int64_t> idx(static_cast<size_t>(walked), 0);
  int64_t off = base;
  for (int64_t o = 0; o < total; o += len) {
    if (rows) std::copy(x + off, x + off + len, out + o);
    else out[o] = x[off];
    for (int k = walked - 1; k >= 0; k--) {
      off += step[k];
      if (++idx[k] < counts[k]) break;
      off -= step[k] * counts[k];
      idx[k] = 0;
    }
  }
}

namespace {
std::vector<int> permOf(const OpNode& op, size_t rank) {
  requireAttr(op, "perm");
  std::vector<int64_t> perm = op.attrInts("perm", {});
  if (perm.size() != rank) opError(op, "attribute 'perm' has " + std::to_string(perm.size()) + " entries for rank " + std::to_string(rank));
  std::vector<int> p;
  std::vector<bool> seen(rank, false);
  for (int64_t a : perm) {
    int ax = normAxis(op, a, rank, "perm");
    if (seen[ax]) opError(op, "attribute 'perm' is not a permutation");
    seen[ax] = true;
    p.push_back(ax);
  }
  return p;
}
}  // namespace

std::vector<Shape> transposeShape(const OpNode& op, const Shapes& in) {
  const Shape& x = needShape(op, in, 0, "x");
  std::vector<int> p = permOf(op, x.size());
  Shape out;
  for (int ax : p) out.push_back(x[ax]);
  return {out};
}

void transposeKernel(const OpNode& op, const Inputs& in, Outputs& out) {
  const Tensor& x = needInput(op, in, 0, "x");
  std::vector<int> p = permOf(op, x.shape.size());
  const std::vector<int64_t> xs = stridesOf(x.shape);
  std::vector<int64_t> step(p.size());  // input stride for each output axis
  for (size_t i = 0; i < p.size(); i++) step[i] = xs[p[i]];
  stridedCopy(x.data.data(), 0, out[0].shape, step, out[0].data.data());
}

std::vector<Shape> concatShape(const OpNode& op, const Shapes& in) {
  if (in.empty()) opError(op, "needs at least one input");
  const Shape& first = needShape(op, in, 0, "x0");
  const int axis = normAxis(op, op.attrInt("axis", 0), first.size(), "axis");
  Shape out = first;
  out[axis] = 0;
  for (size_t i = 0; i < in.size(); i++) {
    const Shape& s = needShape(op, in, i, "values");
    bool ok = s.size() == first.size();
    for (size_t k = 0; ok && k < s.size(); k++) ok = static_cast<int>(k) == axis || s[k] == first[k];
    if (!ok) opError(op, "input " + std::to_string(i) + " " + formatShape(s) + " does not match " + formatShape(first) + " outside axis " + std::to_string(axis));
    out[axis] += s[axis];
  }
  return {out};
}

void concatKernel(const OpNode& op, const Inputs& in, Outputs& out) {
  const Shape& os = out[0].shape;
  const int axis = normAxis(op, op.attrInt("axis", 0), os.size(), "axis");
  int64_t outer = 1, inner = 1;
  for (int i = 0; i < axis; i++) outer *= os[i];
  for (size_t i = axis + 1; i < os.size(); i++) inner *= os[i];
  const int64_t outRow = os[axis] * inner;
  int64_t at = 0;
  for (size_t t = 0; t < in.size(); t++) {
    const Tensor& x = needInput(op, in, t, "values");
    const int64_t row = x.shape[axis] * inner;
    for (int64_t p = 0; p < outer; p++)
      std::copy(x.data.begin() + p * row, x.data.begin() + (p + 1) * row, out[0].data.begin() + p * outRow + at);
    at += row;
  }
}

namespace {
std::vector<int64_t> splitSizes(const OpNode& op, const Shape& x, int axis) {
  std::vector<int64_t> sizes = op.attrInts("split_sizes", {});
  const int64_t n = x[axis];
  if (sizes.empty()) {
    const int64_t parts = op.attrInt("num_splits", static_cast<int64_t>(op.outputs.size()));
    if (parts < 1 || n % parts != 0) opError(op, "cannot split axis of size " + std::to_string(n) + " into " + std::to_string(parts) + " equal parts");
    sizes.assign(parts, n / parts);
  }
  int64_t sum = 0;
  for (int64_t s : sizes) {
    if (s < 0) opError(op, "negative split size");
    sum += s;
  }
  if (sum != n) opError(op, "split_sizes add up to " + std::to_string(sum) + " but the axis has " + std::to_string(n));
  return sizes;
}
}  // namespace

std::vector<Shape> splitShape(const OpNode& op, const Shapes& in) {
  const Shape& x = needShape(op, in, 0, "x");
  const int axis = normAxis(op, op.attrInt("axis", 0), x.size(), "axis");
  std::vector<Shape> outs;
  for (int64_t s : splitSizes(op, x, axis)) {
    Shape o = x;
    o[axis] = s;
    outs.push_back(o);
  }
  return outs;
}

void splitKernel(const OpNode& op, const Inputs& in, Outputs& out) {
  const Tensor& x = needInput(op, in, 0, "x");
  const int axis = normAxis(op, op.attrInt("axis", 0), x.shape.size(), "axis");
  int64_t outer = 1, inner = 1;
  for (int i = 0; i < axis; i++) outer *= x.shape[i];
  for (size_t i = axis + 1; i < x.shape.size(); i++) inner *= x.shape[i];
  const int64_t inRow = x.shape[axis] * inner;
  int64_t at = 0;
  for (Tensor& o : out) {
    const int64_t row = o.shape[axis] * inner;
    for (int64_t p = 0; p < outer; p++)
      std::copy(x.data.begin() + p * inRow + at, x.data.begin() + p * inRow + at + row, o.data.begin() + p * row);
    at += row;
  }
}

namespace {
struct SliceAxis {
  int64_t start, step, count;
};

// Python slice semantics per axis, with MIL's optional begin_mask / end_mask / squeeze_mask.
std::vector<SliceAxis> sliceAxes(const OpNode& op, const Shape& x, Shape& outShape) {
  const size_t r = x.size();
  requireAttr(op, "begin");
  requireAttr(op, "end");
  std::vector<int64_t> begin = op.attrInts("begin", {}), end = op.attrInts("end", {}), stride = op.attrInts("stride", {});
  std::vector<int64_t> bm = op.attrInts("begin_mask", {}), em = op.attrInts("end_mask", {}), sq = op.attrInts("squeeze_mask", {});
  if (begin.size() != r || end.size() != r) opError(op, "attributes 'begin' and 'end' need one entry per axis (" + std::to_string(r) + ")");
  if (stride.empty()) stride.assign(r, 1);
  if (stride.size() != r) opError(op, "attribute 'stride' needs one entry per axis");
  std::vector<SliceAxis> axes;
  outShape.clear();
  for (size_t i = 0; i < r; i++) {
    const int64_t n = x[i], s = stride[i];
    if (s == 0) opError(op, "stride 0 at axis " + std::to_string(i));
    const bool maskB = i < bm.size() && bm[i], maskE = i < em.size() && em[i];
    auto clampIdx = [&](int64_t v, bool isBegin) {
      if (v < 0) v += n;
      if (s > 0) return std::min(std::max<int64_t>(v, 0), n);
      (void)isBegin;
      return std::min(std::max<int64_t>(v, -1), n - 1);
    };
    int64_t b = maskB ? (s > 0 ? 0 : n - 1) : clampIdx(begin[i], true);
    int64_t e = maskE ? (s > 0 ? n : -1) : clampIdx(end[i], false);
    int64_t count = s > 0 ? (e > b ? (e - b + s - 1) / s : 0) : (b > e ? (b - e + (-s) - 1) / (-s) : 0);
    const bool squeeze = i < sq.size() && sq[i];
    if (squeeze) {
      if (count < 1) opError(op, "squeezed axis " + std::to_string(i) + " selects no element");
      count = 1;
    }
    axes.push_back({b, s, count});
    if (!squeeze) outShape.push_back(count);
  }
  return axes;
}
}  // namespace

std::vector<Shape> sliceShape(const OpNode& op, const Shapes& in) {
  Shape out;
  sliceAxes(op, needShape(op, in, 0, "x"), out);
  return {out};
}

void sliceKernel(const OpNode& op, const Inputs& in, Outputs& out) {
  const Tensor& x = needInput(op, in, 0, "x");
  Shape unused;
  std::vector<SliceAxis> axes = sliceAxes(op, x.shape, unused);
  const std::vector<int64_t> xs = stridesOf(x.shape);
  std::vector<int64_t> counts, step;
  int64_t base = 0;
  for (size_t i = 0; i < axes.size(); i++) {
    counts.push_back(axes[i].count);
    step.push_back(axes[i].step * xs[i]);
    base += axes[i].start * xs[i];
  }
  stridedCopy(x.data.data(), base, counts, step, out[0].data.data());
}

namespace {
// Per-axis (before, after) padding; a shorter list pads the last axes, as MIL's pad does.
std::vector<std::pair<int64_t, int64_t>> padAmounts(const OpNode& op, const Shape& x) {
  requireAttr(op, "pad");
  std::vector<int64_t> pad = op.attrInts("pad", {});
  if (pad.size() % 2 != 0 || pad.size() > 2 * x.size()) opError(op, "attribute 'pad' must hold (before, after) pairs for at most " + std::to_string(x.size()) + " axes");
  std::vector<std::pair<int64_t, int64_t>> p(x.size(), {0, 0});
  const size_t first = x.size() - pad.size() / 2;
  for (size_t i = 0; i < pad.size() / 2; i++) {
    if (pad[2 * i] < 0 || pad[2 * i + 1] < 0) opError(op, "negative padding is not supported");
    p[first + i] = {pad[2 * i], pad[2 * i + 1]};
  }
  return p;
}
}  // namespace

std::vector<Shape> padShape(const OpNode& op, const Shapes& in) {
  const Shape& x = needShape(op, in, 0, "x");
  auto p = padAmounts(op, x);
  const std::string mode = op.attrString("mode", "constant");
  if (mode != "constant" && mode != "reflect" && mode != "replicate") opError(op, "unknown pad mode '" + mode + "'");
  Shape out = x;
  for (size_t i = 0; i < x.size(); i++) {
    if (mode == "reflect" && (p[i].first >= x[i] || p[i].second >= x[i]) && (p[i].first || p[i].second))
      opError(op, "reflect padding must be smaller than the axis size at axis " + std::to_string(i));
    if (mode == "replicate" && x[i] == 0 && (p[i].first || p[i].second)) opError(op, "cannot replicate-pad an empty axis");
    out[i] += p[i].first + p[i].second;
  }
  return {out};
}

namespace {
/** Calls f(i, idx) for each element i of `shape` in row-major order, idx being its multi-index. */
template <typename F>
void forEachIndex(const Shape& shape, F&& f) {
  std::vector<int64_t> idx(shape.size(), 0);
  const int64_t total = numel(shape);
  for (int64_t i = 0; i < total; i++) {
    f(i, idx);
    nextIndex(idx, shape);
  }
}

enum class PadMode { Constant, Reflect, Replicate };

/** The source position of padded position `s` (relative to the input's start) on an axis of length n. */
inline int64_t padSource(PadMode mode, int64_t s, int64_t n) {
  if (mode == PadMode::Reflect) return s < 0 ? -s : 2 * (n - 1) - s;
  return s < 0 ? 0 : n - 1;
}
}  // namespace

// Row by row: the outer axes pick a source row (or make the row all constant), and the row's interior is
// one contiguous copy; only the padded edges are computed element by element.
void padKernel(const OpNode& op, const Inputs& in, Outputs& out) {
  const Tensor& x = needInput(op, in, 0, "x");
  auto p = padAmounts(op, x.shape);
  const std::string modeName = op.attrString("mode", "constant");
  const PadMode mode = modeName == "reflect" ? PadMode::Reflect : modeName == "replicate" ? PadMode::Replicate : PadMode::Constant;
  const float cval = static_cast<float>(op.attrFloat("constant_val", 0));
  const Shape& os = out[0].shape;
  if (os.empty()) {
    out[0].data[0] = x.data[0];
    return;
  }
  const size_t last = os.size() - 1;
  const int64_t width = os[last], n = x.shape[last], before = p[last].first;
  const std::vector<int64_t> xs = stridesOf(x.shape);
  const Shape rows(os.begin(), os.end() - 1);
  forEachIndex(rows, [&](int64_t row, const std::vector<int64_t>& idx) {
    float* o = out[0].data.data() + row * width;
    int64_t off = 0;
    for (size_t k = 0; k < last; k++) {
      int64_t s = idx[k] - p[k].first;
      if (s < 0 || s >= x.shape[k]) {
        if (mode == PadMode::Constant) {
          std::fill(o, o + width, cval);
          return;
        }
        s = padSource(mode, s, x.shape[k]);
      }
      off += s * xs[k];
    }
    const float* src = x.data.data() + off;
    for (int64_t j = 0; j < width; j++) {
      const int64_t s = j - before;
      if (s >= 0 && s < n) {
        const int64_t len = std::min(n - s, width - j);
        std::copy(src + s, src + s + len, o + j);
        j += len - 1;
      } else {
        o[j] = mode == PadMode::Constant ? cval : src[padSource(mode, s, n)];
      }
    }
  });
}

namespace {
std::vector<int64_t> tileReps(const OpNode& op, size_t rank) {
  std::vector<int64_t> reps = op.attrInts("reps", {});
  if (reps.size() != rank) throw Unsupported("no fp16 kernel for tile without per-axis 'reps' yet");
  for (int64_t r : reps)
    if (r < 0) opError(op, "negative repetition in 'reps'");
  return reps;
}
}  // namespace

std::vector<Shape> tileShape(const OpNode& op, const Shapes& in) {
  const Shape& x = needShape(op, in, 0, "x");
  std::vector<int64_t> reps = tileReps(op, x.size());
  Shape out = x;
  for (size_t i = 0; i < x.size(); i++) {
    if (x[i] != 0 && reps[i] > (int64_t(1) << 31) / x[i]) opError(op, "'reps' make the output larger than 2^31 elements");
    out[i] = x[i] * reps[i];
  }
  return {out};
}

void tileKernel(const OpNode& op, const Inputs& in, Outputs& out) {
  const Tensor& x = needInput(op, in, 0, "x");
  const size_t r = out[0].shape.size();
  const std::vector<int64_t> xs = stridesOf(x.shape);
  forEachIndex(out[0].shape, [&](int64_t i, const std::vector<int64_t>& idx) {
    int64_t off = 0;
    for (size_t k = 0; k < r; k++) off += (idx[k] % x.shape[k]) * xs[k];
    out[0].data[i] = x.data[off];
  });
}


// space_to_batch / batch_to_space (MIL, NCHW; TensorFlow's SpaceToBatchND, which converters emit around a
// dilated convolution): the padded map's (bh, bw) phase planes become batch entries, entry
// (ih * bw + iw) * N + n holding phase (ih, iw) of image n.
namespace {
struct BlockSpec {
  int64_t bh, bw, top, bottom, left, right;
};

BlockSpec blockSpec(const OpNode& op, const char* amounts) {
  const std::vector<int64_t> b = op.attrInts("block_shape", {});
  const std::vector<int64_t> p = op.attrInts(amounts, {0, 0, 0, 0});
  if (b.size() != 2 || p.size() != 4) opError(op, std::string("needs block_shape [bh, bw] and ") + amounts + " [[top, bottom], [left, right]] (2-D blocks only)");
  if (b[0] < 1 || b[1] < 1) opError(op, "block_shape must be positive");
  for (int64_t v : p)
    if (v < 0) opError(op, std::string(amounts) + " must not be negative");
  return {b[0], b[1], p[0], p[1], p[2], p[3]};
}

const Shape& needNCHW(const OpNode& op, const Shapes& in) {
  const Shape& x = needShape(op, in, 0, "x");
  if (x.size() != 4) opError(op, "expects a rank-4 (N, C, H, W) input, got " + formatShape(x));
  return x;
}
}  // namespace

std::vector<Shape> spaceToBatchShape(const OpNode& op, const Shapes& in) {
  const Shape& x = needNCHW(op, in);
  const BlockSpec b = blockSpec(op, "paddings");
  const int64_t h = x[2] + b.top + b.bottom, w = x[3] + b.left + b.right;
  if (h % b.bh != 0 || w % b.bw != 0) opError(op, "padded spatial size " + std::to_string(h) + "x" + std::to_string(w) + " is not a multiple of block_shape");
  return {{x[0] * b.bh * b.bw, x[1], h / b.bh, w / b.bw}};
}

void spaceToBatchKernel(const OpNode& op, const Inputs& in, Outputs& out) {
  const Tensor& x = needInput(op, in, 0, "x");
  const BlockSpec b = blockSpec(op, "paddings");
  const int64_t n = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3];
  const int64_t oh = out[0].shape[2], ow = out[0].shape[3];
  float* o = out[0].data.data();
  for (int64_t ih = 0; ih < b.bh; ih++)
    for (int64_t iw = 0; iw < b.bw; iw++)
      for (int64_t img = 0; img < n; img++)
        for (int64_t ch = 0; ch < c; ch++) {
          const float* plane = x.data.data() + (img * c + ch) * h * w;
          for (int64_t r = 0; r < oh; r++) {
            const int64_t sr = r * b.bh + ih - b.top;
            for (int64_t col = 0; col < ow; col++, o++) {
              const int64_t sc = col * b.bw + iw - b.left;
              *o = sr >= 0 && sr < h && sc >= 0 && sc < w ? plane[sr * w + sc] : 0.0f;
            }
          }
        }
}

std::vector<Shape> batchToSpaceShape(const OpNode& op, const Shapes& in) {
  const Shape& x = needNCHW(op, in);
  const BlockSpec b = blockSpec(op, "crops");
  if (x[0] % (b.bh * b.bw) != 0) opError(op, "batch " + std::to_string(x[0]) + " is not a multiple of the block size " + std::to_string(b.bh * b.bw));
  const int64_t h = x[2] * b.bh - b.top - b.bottom, w = x[3] * b.bw - b.left - b.right;
  if (h < 0 || w < 0) opError(op, "crops remove more than the whole map");
  return {{x[0] / (b.bh * b.bw), x[1], h, w}};
}

void batchToSpaceKernel(const OpNode& op, const Inputs& in, Outputs& out) {
  const Tensor& x = needInput(op, in, 0, "x");
  const BlockSpec b = blockSpec(op, "crops");
  const int64_t c = x.shape[1], h = x.shape[2], w = x.shape[3];
  const int64_t n = out[0].shape[0], oh = out[0].shape[2], ow = out[0].shape[3];
  float* o = out[0].data.data();
  for (int64_t img = 0; img < n; img++)
    for (int64_t ch = 0; ch < c; ch++)
      for (int64_t r = 0; r < oh; r++) {
        const int64_t fr = r + b.top, ih = fr % b.bh, sr = fr / b.bh;
        for (int64_t col = 0; col < ow; col++, o++) {
          const int64_t fc = col + b.left, iw = fc % b.bw, sc = fc / b.bw;
          *o = x.data[static_cast<size_t>((((ih * b.bw + iw) * n + img) * c + ch) * h * w + sr * w + sc)];
        }
      }
}

// depth_to_space / pixel_shuffle / space_to_depth (NCHW, block b). depth_to_space is TensorFlow's DCR order
// (output channel c of block position (i, j) is input channel (i·b + j)·C' + c); pixel_shuffle, and ONNX
// DepthToSpace with mode "CRD", take channel c·b² + i·b + j instead (the NeuralNetwork spec's example shows both).
namespace {
struct Blocks {
  int64_t b;
  bool crd;
};

Blocks blocksOf(const OpNode& op) {
  const int64_t b = op.op == "pixel_shuffle" ? op.attrInt("upscale_factor", op.attrInt("block_size", 0)) : op.attrInt("block_size", op.attrInt("blocksize", 0));
  if (b < 1) opError(op, "needs a positive block size");
  return {b, op.op == "pixel_shuffle" || op.attrString("mode", "DCR") == "CRD"};
}
}  // namespace

std::vector<Shape> depthSpaceShape(const OpNode& op, const Shapes& in) {
  const Shape& x = needNCHW(op, in);
  const Blocks k = blocksOf(op);
  if (op.op == "space_to_depth") {
    if (x[2] % k.b != 0 || x[3] % k.b != 0) opError(op, "spatial size " + formatShape(x) + " is not a multiple of the block size");
    return {{x[0], x[1] * k.b * k.b, x[2] / k.b, x[3] / k.b}};
  }
  if (x[1] % (k.b * k.b) != 0) opError(op, "channels " + std::to_string(x[1]) + " are not a multiple of the block size squared");
  return {{x[0], x[1] / (k.b * k.b), x[2] * k.b, x[3] * k.b}};
}

void depthSpaceKernel(const OpNode& op, const Inputs& in, Outputs& out) {
  const Tensor& x = needInput(op, in, 0, "x");
  const Blocks k = blocksOf(op);
  const bool toSpace = op.op != "space_to_depth";
  // The deep side (many channels, small map) and the wide side, so one loop serves both directions.
  const Shape& deep = toSpace ? x.shape : out[0].shape;
  const int64_t n = deep[0], cd = deep[1], h = deep[2], w = deep[3], c = cd / (k.b * k.b);
  const float* src = x.data.data();
  float* dst = out[0].data.data();
  for (int64_t img = 0; img < n; img++)
    for (int64_t ch = 0; ch < c; ch++)
      for (int64_t i = 0; i < k.b; i++)
        for (int64_t j = 0; j < k.b; j++) {
          const int64_t dc = k.crd ? ch * k.b * k.b + i * k.b + j : (i * k.b + j) * c + ch;
          for (int64_t r = 0; r < h; r++)
            for (int64_t col = 0; col < w; col++) {
              const int64_t deepAt = ((img * cd + dc) * h + r) * w + col;
              const int64_t wideAt = ((img * c + ch) * h * k.b + r * k.b + i) * w * k.b + col * k.b + j;
              if (toSpace) dst[wideAt] = src[deepAt];
              else dst[deepAt] = src[wideAt];
            }
        }
}

}  // namespace ane
