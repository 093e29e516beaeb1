// Any bytes as a multipart/form-data request: the first line (up to LF, at most 256 bytes) is the
// Content-Type header value and the rest is the body (see fuzz/corpus/multipart/). Parts or an
// InvalidArgument, never a crash; what is returned keeps the documented limits.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "server/multipart.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const std::size_t nl = in.substr(0, 257).find('\n');
  const std::string_view content_type = nl == std::string_view::npos ? in.substr(0, 0) : in.substr(0, nl);
  const std::string_view body = nl == std::string_view::npos ? in : in.substr(nl + 1);

  const auto boundary = truce::server::multipart_boundary(content_type);
  if (boundary && (boundary->empty() || boundary->size() > 70)) std::abort();
  const auto parts = truce::server::parse_multipart(content_type, body);
  if (!parts.ok()) {
    if (parts.status().code() != truce::Code::kInvalidArgument || parts.status().message().empty())
      std::abort();
    return 0;
  }
  if (!boundary || parts->empty() || parts->size() > truce::server::kMultipartMaxParts) std::abort();
  std::size_t total = 0;
  for (const auto& p : *parts) {
    if (p.name.empty() || p.content_type.empty()) std::abort();
    total += p.content.size();
  }
  if (total > body.size()) std::abort();
  return 0;
}
