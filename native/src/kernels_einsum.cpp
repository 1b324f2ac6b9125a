// einsum with one or two operands (MIL `einsum(values, equation)`, ONNX Einsum, torch.einsum). Apple's ANE
// attention is written as einsums ("bchq,bkhc->bkhq", "bkhq,bchk->bchq"), so the simulator must run them.
// Two operands become a batched GEMM: letters in both operands and the output are the batch, letters only in
// the first (second) operand and the output are the rows (columns), letters in both operands but not the
// output are summed by the GEMM; a letter in one operand only and not in the output is summed out first.
#include <algorithm>
#include <string>
#include <vector>

#include "kernels.hpp"

namespace ane {

namespace {
bool isLetter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

/** The extents of `letters`' axes. */
Shape shapeOf(const std::string& letters, const EinsumSpec& s) {
  Shape sh;
  for (char c : letters) sh.push_back(s.size[static_cast<unsigned char>(c)]);
  return sh;
}

/** Row-major strides of an operand's axes, by letter (0 for letters the operand lacks). */
std::vector<int64_t> letterStrides(const std::string& letters, const EinsumSpec& s) {
  std::vector<int64_t> st(128, 0);
  const std::vector<int64_t> axis = stridesOf(shapeOf(letters, s));
  for (size_t i = 0; i < letters.size(); i++) st[static_cast<unsigned char>(letters[i])] = axis[i];
  return st;
}

/** `x` (axes `from`) with the letters outside `keep` summed out: the result's axes are `keep`'s letters in order. */
std::vector<float> sumOut(const float* x, const std::string& from, const EinsumSpec& s, const std::string& keep) {
  std::string summed;
  for (char c : from)
    if (keep.find(c) == std::string::npos) summed += c;
  const std::vector<int64_t> st = letterStrides(from, s);
  int64_t keptTotal = 1, summedTotal = 1;
  for (char c : keep) keptTotal *= s.size[static_cast<unsigned char>(c)];
  for (char c : summed) summedTotal *= s.size[static_cast<unsigned char>(c)];
  std::vector<float> out(static_cast<size_t>(keptTotal), 0.0f);
  std::vector<int64_t> ki(keep.size(), 0), si(summed.size(), 0);
  for (int64_t o = 0; o < keptTotal; o++) {
    int64_t base = 0;
    for (size_t k = 0; k < keep.size(); k++) base += ki[k] * st[static_cast<unsigned char>(keep[k])];
    float acc = 0.0f;
    std::fill(si.begin(), si.end(), 0);
    for (int64_t j = 0; j < summedTotal; j++) {
      int64_t off = base;
      for (size_t k = 0; k < summed.size(); k++) off += si[k] * st[static_cast<unsigned char>(summed[k])];
      acc += x[off];
      for (size_t k = summed.size(); k-- > 0;) {
        if (++si[k] < s.size[static_cast<unsigned char>(summed[k])]) break;
        si[k] = 0;
      }
    }
    out[static_cast<size_t>(o)] = acc;
    for (size_t k = keep.size(); k-- > 0;) {
      if (++ki[k] < s.size[static_cast<unsigned char>(keep[k])]) break;
      ki[k] = 0;
    }
  }
  return out;
}

/** `x` (axes `from`, every letter kept) laid out with the axes in `order`'s letter order. */
void permuteTo(const float* x, const std::string& from, const EinsumSpec& s, const std::string& order, float* out) {
  const std::vector<int64_t> st = letterStrides(from, s);
  std::vector<int64_t> counts, steps;
  for (char c : order) {
    counts.push_back(s.size[static_cast<unsigned char>(c)]);
    steps.push_back(st[static_cast<unsigned char>(c)]);
  }
  stridedCopy(x, 0, counts, steps, out);
}

int64_t extent(const EinsumSpec& s, const std::string& letters) {
  int64_t n = 1;
  for (char c : letters) n *= s.size[static_cast<unsigned char>(c)];
  return n;
}
}  // namespace

double EinsumSpec::macs() const {
  double n = 1;
  std::string seen;
  for (const std::string& o : operands)
    for (char c : o)
      if (seen.find(c) == std::string::npos) {
        seen += c;
        n *= static_cast<double>(size[static_cast<unsigned char>(c)]);
      }
  return n;
}

EinsumSpec einsumSpec(const OpNode& op, const Shapes& in) {
  requireAttr(op, "equation");
  std::string eq = op.attrString("equation", "");
  eq.erase(std::remove(eq.begin(), eq.end(), ' '), eq.end());
  if (eq.find('.') != std::string::npos) throw Unsupported("no fp16 kernel for einsum with '...' yet");
  EinsumSpec s;
  const size_t arrow = eq.find("->");
  const std::string lhs = eq.substr(0, arrow);
  for (size_t at = 0;;) {
    const size_t comma = lhs.find(',', at);
    s.operands.push_back(lhs.substr(at, comma == std::string::npos ? std::string::npos : comma - at));
    if (comma == std::string::npos) break;
    at = comma + 1;
  }
  if (s.operands.size() > 2) throw Unsupported("no fp16 kernel for einsum of " + std::to_string(s.operands.size()) + " operands yet");
  if (s.operands.size() != in.size()) opError(op, "equation '" + eq + "' names " + std::to_string(s.operands.size()) + " operands, the op has " + std::to_string(in.size()));
  int count[128] = {};
  for (size_t i = 0; i < s.operands.size(); i++) {
    const std::string& letters = s.operands[i];
    const Shape& shape = needShape(op, in, i, "values");
    if (letters.size() != shape.size())
      opError(op, "equation '" + eq + "' gives operand " + std::to_string(i) + " " + std::to_string(letters.size()) + " axes, its shape is " + formatShape(shape));
    for (size_t k = 0; k < letters.size(); k++) {
      const char c = letters[k];
      if (!isLetter(c)) opError(op, "equation '" + eq + "' has a character other than letters, ',' and '->'");
      if (letters.find(c) != k) throw Unsupported("no fp16 kernel for einsum with a repeated letter in one operand (a diagonal) yet");
      int64_t& size = s.size[static_cast<unsigned char>(c)];
      if (count[static_cast<unsigned char>(c)]++ > 0 && size != shape[k])
        opError(op, "equation '" + eq + "': letter '" + std::string(1, c) + "' is " + std::to_string(size) + " in one operand and " + std::to_string(shape[k]) + " in another");
      size = shape[k];
    }
  }
  if (arrow != std::string::npos) {
    s.output = eq.substr(arrow + 2);
    for (size_t k = 0; k < s.output.size(); k++) {
      const char c = s.output[k];
      if (!isLetter(c) || count[static_cast<unsigned char>(c)] == 0 || s.output.find(c) != k)
        opError(op, "equation '" + eq + "': the output names '" + std::string(1, c) + "', which is not an operand letter, or names it twice");
    }
  } else {
    for (int c = 0; c < 128; c++)
      if (count[c] == 1) s.output += static_cast<char>(c);
  }
  return s;
}

std::vector<Shape> einsumShape(const OpNode& op, const Shapes& in) {
  const EinsumSpec s = einsumSpec(op, in);
  return {shapeOf(s.output, s)};
}

void einsumKernel(const OpNode& op, const Inputs& in, Outputs& out) {
  Shapes shapes;
  for (const Tensor* t : in) shapes.push_back(t ? &t->shape : nullptr);
  const EinsumSpec s = einsumSpec(op, shapes);
  float* o = out[0].data.data();
  if (s.operands.size() == 1) {
    // Sums and a permutation: the letters summed out first, then the output's order.
    const std::string& a = s.operands[0];
    std::string kept;
    for (char c : a)
      if (s.output.find(c) != std::string::npos) kept += c;
    const std::vector<float> reduced = sumOut(in[0]->data.data(), a, s, kept);
    permuteTo(reduced.data(), kept, s, s.output, o);
    return;
  }
  const std::string &a = s.operands[0], &b = s.operands[1];
  auto in_ = [](const std::string& t, char c) { return t.find(c) != std::string::npos; };
  std::string batch, rows, cols, inner;
  for (char c : a) {
    if (in_(b, c)) (in_(s.output, c) ? batch : inner) += c;
    else if (in_(s.output, c)) rows += c;
  }
  for (char c : b)
    if (!in_(a, c) && in_(s.output, c)) cols += c;
  // Letters of one operand that the output drops are summed out of that operand before the product.
  auto prepared = [&](const Tensor& t, const std::string& letters, const std::string& order) {
    std::string kept;
    for (char c : letters)
      if (in_(order, c)) kept += c;
    std::vector<float> laid(static_cast<size_t>(extent(s, order)));
    if (kept.size() == letters.size()) {
      permuteTo(t.data.data(), letters, s, order, laid.data());
    } else {
      const std::vector<float> reduced = sumOut(t.data.data(), letters, s, kept);
      permuteTo(reduced.data(), kept, s, order, laid.data());
    }
    return laid;
  };
  const std::vector<float> A = prepared(*in[0], a, batch + rows + inner);
  const std::vector<float> B = prepared(*in[1], b, batch + inner + cols);
  const int64_t nb = extent(s, batch), M = extent(s, rows), N = extent(s, cols), K = extent(s, inner);
  std::vector<float> C(static_cast<size_t>(nb * M * N));
  for (int64_t i = 0; i < nb; i++) {
    float* c = C.data() + i * M * N;
    if (K == 0) std::fill(c, c + M * N, 0.0f);
    else gemm(M, N, K, A.data() + i * M * K, K, B.data() + i * K * N, N, c, N);
  }
  permuteTo(C.data(), batch + rows + cols, s, s.output, o);
}

}  // namespace ane
