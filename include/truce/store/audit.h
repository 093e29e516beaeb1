// The audit chain: link_n = SHA-256(link_{n-1} || canonical_content(record_n)), link_0 = 32 zero
// bytes. Any record edited, inserted or deleted behind truce's back breaks every later link.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace truce {

using Digest = std::array<std::uint8_t, 32>;
inline constexpr Digest kGenesis{};

Digest chain_link(const Digest& prev, std::string_view canonical);
std::string to_hex(const Digest& d);

}  // namespace truce
