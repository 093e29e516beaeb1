// The audit chain: link_n = SHA-256(link_{n-1} || SHA-256(canonical_content(record_n))), link_0 = 32
// zero bytes. Any record edited, inserted or deleted behind truce's back breaks every later link.
// The inner digest depends on the record alone, so importers compute it in parallel with storing.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace truce {

using Digest = std::array<std::uint8_t, 32>;
inline constexpr Digest kGenesis{};

Digest content_digest(std::string_view canonical);
Digest chain_link(const Digest& prev, const Digest& content);
std::string to_hex(const Digest& d);

}  // namespace truce
