// AddonRunResult (contract 4) as JSON text.
#pragma once
#include <string>
#include <vector>

#include "analysis.hpp"
#include "buffer_plan.hpp"
#include "cost.hpp"
#include "executor.hpp"

namespace ane {

struct ResultText {
  std::string json;
  bool ascii = true;  // no byte above 0x7F: V8 can take the text as Latin-1 without decoding UTF-8
};

ResultText resultJson(const Graph& g, const Analysis& a, const CostResult& costs, const BufferPlan& plan, const ExecResult& exec);

}  // namespace ane
