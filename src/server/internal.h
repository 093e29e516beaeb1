// Private to the server module.
#pragma once

#include <string>
#include <string_view>

#include "truce/io/openrosa.h"

namespace truce::server {

std::string md5_hex(std::string_view s);
std::string sha256_hex(std::string_view s);

// The OpenRosa XForm truce serves for an observation report, and its form id.
using io::kFormId;
std::string_view observation_xform();

}  // namespace truce::server
