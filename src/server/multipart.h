// A strict multipart/form-data parser (RFC 7578 over RFC 2046) for OpenRosa submissions. It is
// fed attacker bytes: any input gives parts or an InvalidArgument, in time linear in its size.
// Private to the server module.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "truce/core/status.h"

namespace truce::server {

// One part of a form: the Content-Disposition name and filename ("" when there is none), the
// part's Content-Type as sent ("text/plain" when it has none), and its bytes.
struct MultipartPart {
  std::string name, filename, content_type, content;
};

// Limits on one body; a body over any of them is refused.
inline constexpr std::size_t kMultipartMaxParts = 256;
inline constexpr std::size_t kMultipartMaxHeaderBytes = 8192;  // per part, without the closing CRLF CRLF
inline constexpr std::size_t kMultipartMaxHeaderLines = 16;    // per part

// Parses a multipart/form-data body given the request's Content-Type header value
// (e.g. `multipart/form-data; boundary="abc"`). Returns the parts in order, or InvalidArgument with
// a message that says what was expected and where (part number, byte offset).
//
// Strict: lines end in CRLF; a delimiter line is "--boundary", optional spaces or tabs, CRLF (the
// first may start the body, otherwise it follows a CRLF); the closing "--boundary--" is required;
// preamble and epilogue are ignored. "CRLF--boundary" followed by anything else is refused, as
// RFC 2046 says the delimiter never appears inside a part. A part's headers end at CRLF CRLF and its
// content starts right after (so an empty part is "headers CRLF CRLF CRLF--boundary"). Each part
// needs a Content-Disposition of form-data with a name; a Content-Transfer-Encoding other than
// 7bit, 8bit or binary is refused.
Result<std::vector<MultipartPart>> parse_multipart(std::string_view content_type, std::string_view body);

// The boundary parameter of a multipart/form-data Content-Type, or nullopt when it is not one
// (another media type, a malformed parameter list, or no valid boundary of 1 to 70 characters).
std::optional<std::string> multipart_boundary(std::string_view content_type);

}  // namespace truce::server
