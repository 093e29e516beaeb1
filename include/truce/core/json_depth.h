// The nesting guard every JSON reader runs before a recursive parser (or a recursive destructor)
// sees untrusted text: how deep '{' and '[' nest outside strings, read without parsing.
#pragma once

#include <string_view>

#include "truce/core/status.h"

namespace truce {

// The deepest nesting of the text (0 for a scalar); unbalanced or invalid text is measured as far
// as it goes (the parser that follows rejects it).
int json_depth(std::string_view text);

// Ok, or Invalid("JSON nested deeper than N levels") at the line of `source` where the text first
// nests deeper than max_depth.
Status check_json_depth(std::string_view text, int max_depth, std::string_view source = "");

}  // namespace truce
