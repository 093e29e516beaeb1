// gzip for responses (zlib). Private to the server module.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace truce::server {

// True when an Accept-Encoding header value accepts gzip (a q of 0 refuses it).
bool accepts_gzip(std::string_view accept_encoding);

// True for the content types worth compressing: JSON, GeoJSON, text, XML, JavaScript, SVG.
bool compressible(std::string_view content_type);

// The gzip member of `data`, or nullopt when zlib fails.
std::optional<std::string> gzip_compress(std::string_view data, int level = 4);

// Inflates a gzip member (for tests and the benchmark's client); nullopt on malformed input.
std::optional<std::string> gzip_decompress(std::string_view data, std::size_t max_out = 1u << 30);

}  // namespace truce::server
