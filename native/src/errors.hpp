// Error types shared by every stage. A GraphError aborts the run (bad graph, bad options); an
// Unsupported error only marks one op as not executed, so the rest of the graph still gets numerics.
#pragma once
#include <stdexcept>
#include <string>

namespace ane {

struct GraphError : std::runtime_error {
  explicit GraphError(const std::string& m) : std::runtime_error(m) {}
};

struct Unsupported : std::runtime_error {
  explicit Unsupported(const std::string& m) : std::runtime_error(m) {}
};

}  // namespace ane
