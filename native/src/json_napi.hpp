#pragma once
#include <napi.h>
#include <string>
#include "json.hpp"

namespace ane {

/** JSON text (read natively) or an already-parsed object → Json. `what` names the argument in error messages. */
Json jsonFromArgument(Napi::Env env, Napi::Value value, const std::string& what);

}  // namespace ane
