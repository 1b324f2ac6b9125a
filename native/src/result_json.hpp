// AddonRunResult (contract 4) as JSON text.
#pragma once
#include <string>
#include <vector>

#include "analysis.hpp"
#include "buffer_plan.hpp"
#include "cost.hpp"
#include "executor.hpp"

namespace ane {

std::string resultJson(const Graph& g, const Analysis& a, const CostResult& costs, const BufferPlan& plan, const ExecResult& exec);

}  // namespace ane
