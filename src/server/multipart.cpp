// multipart/form-data, strictly: see multipart.h for the rules.
#include "server/multipart.h"

#include <algorithm>

namespace truce::server {

namespace {

constexpr std::string_view kCrlf = "\r\n";

bool is_tchar(unsigned char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

// RFC 2046 bchars: what a boundary may hold (a space only when not last).
bool is_bchar(unsigned char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("'()+_,-./:=? ").find(static_cast<char>(c)) != std::string_view::npos;
}

bool is_ows(char c) { return c == ' ' || c == '\t'; }

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string lowered(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = lower(c);
  return out;
}

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && is_ows(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_ows(s.back())) s.remove_suffix(1);
  return s;
}

// Client text for an error message: at most 40 bytes, printable ASCII kept, the rest as \xNN.
std::string quote(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (std::size_t i = 0; i < s.size() && i < 40; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  out += s.size() > 40 ? "\"..." : "\"";
  return out;
}

// What a single byte is, for "got ..." in messages.
std::string describe(std::string_view s, std::size_t i) {
  if (i >= s.size()) return "the end of the body";
  if (s[i] == '\n') return "a bare LF (lines must end in CRLF)";
  return quote(s.substr(i, 1));
}

struct Param {
  std::string name;  // lower case
  std::string value;
};

// `*( OWS ";" OWS name "=" ( token / quoted-string ) ) OWS` from s[i...]. On failure returns what
// was expected and sets err_at to the index in s.
std::string parse_params(std::string_view s, std::size_t i, std::vector<Param>& out, std::size_t& err_at) {
  const std::size_t n = s.size();
  for (;;) {
    while (i < n && is_ows(s[i])) ++i;
    if (i == n) return "";
    err_at = i;
    if (s[i] != ';') return "expected ';' before a parameter, got " + quote(s.substr(i, 1));
    ++i;
    while (i < n && is_ows(s[i])) ++i;
    const std::size_t name_start = i;
    while (i < n && is_tchar(static_cast<unsigned char>(s[i]))) ++i;
    err_at = i;
    if (i == name_start) return "expected a parameter name after ';'";
    Param p;
    p.name = lowered(s.substr(name_start, i - name_start));
    if (i == n || s[i] != '=') return "expected '=' after parameter " + quote(p.name);
    ++i;
    err_at = i;
    if (i < n && s[i] == '"') {
      ++i;
      bool closed = false;
      while (i < n) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c == '"') {
          closed = true;
          ++i;
          break;
        }
        if (c == '\\') {
          ++i;
          if (i == n) break;
          const auto e = static_cast<unsigned char>(s[i]);
          if (e != '\t' && (e < 0x20 || e == 0x7f)) {
            err_at = i;
            return "expected a visible character after '\\' in the value of " + quote(p.name);
          }
          p.value += static_cast<char>(e);
          ++i;
          continue;
        }
        if (c != '\t' && (c < 0x20 || c == 0x7f)) {
          err_at = i;
          return "expected no control characters in the value of " + quote(p.name);
        }
        p.value += static_cast<char>(c);
        ++i;
      }
      if (!closed) {
        err_at = i;
        return "expected a closing '\"' for the value of " + quote(p.name);
      }
    } else {
      const std::size_t v_start = i;
      while (i < n && is_tchar(static_cast<unsigned char>(s[i]))) ++i;
      if (i == v_start) return "expected a token or a quoted string as the value of " + quote(p.name);
      p.value = std::string(s.substr(v_start, i - v_start));
    }
    for (const Param& q : out) {
      if (q.name == p.name) {
        err_at = name_start;
        return "expected parameter " + quote(p.name) + " at most once";
      }
    }
    out.push_back(std::move(p));
  }
}

// `type "/" subtype` from s[0...]: returns the index after it, or npos.
std::size_t parse_media_type(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size() && is_tchar(static_cast<unsigned char>(s[i]))) ++i;
  if (i == 0 || i == s.size() || s[i] != '/') return std::string_view::npos;
  const std::size_t sub = ++i;
  while (i < s.size() && is_tchar(static_cast<unsigned char>(s[i]))) ++i;
  return i == sub ? std::string_view::npos : i;
}

// The boundary of a multipart/form-data Content-Type value, or what is wrong with it.
Result<std::string> boundary_of(std::string_view content_type) {
  const std::string_view ct = trim_ows(content_type);
  const std::size_t end = parse_media_type(ct);
  if (end == std::string_view::npos || lowered(ct.substr(0, end)) != "multipart/form-data") {
    return Status::Invalid("Content-Type: expected multipart/form-data, got " +
                           quote(ct.substr(0, std::min(ct.find(';'), ct.size()))));
  }
  std::vector<Param> params;
  std::size_t err_at = 0;
  if (std::string what = parse_params(ct, end, params, err_at); !what.empty()) {
    return Status::Invalid("Content-Type at character " + std::to_string(err_at) + ": " + what);
  }
  for (const Param& p : params) {
    if (p.name != "boundary") continue;
    const std::string& b = p.value;
    if (b.empty() || b.size() > 70) {
      return Status::Invalid("Content-Type: expected a boundary of 1 to 70 characters, got " +
                             std::to_string(b.size()));
    }
    for (char c : b) {
      if (!is_bchar(static_cast<unsigned char>(c))) {
        return Status::Invalid(
            "Content-Type: expected a boundary of letters, digits and '()+_,-./:=? , got " + quote(b));
      }
    }
    if (b.back() == ' ')
      return Status::Invalid("Content-Type: expected a boundary that does not end in a space");
    return b;
  }
  return Status::Invalid("Content-Type: expected a boundary parameter");
}

Status at_byte(std::size_t part, std::size_t byte, const std::string& what) {
  return Status::Invalid("multipart part " + std::to_string(part) + " at byte " + std::to_string(byte) +
                         ": " + what);
}

// The header block of one part (without its closing CRLF CRLF), starting at body byte `base`.
Status parse_headers(std::string_view block, std::size_t base, std::size_t part_no, MultipartPart& part) {
  bool have_disposition = false, have_type = false, have_encoding = false;
  std::size_t lines = 0;
  std::size_t start = 0;
  while (start < block.size()) {
    std::size_t end = block.find(kCrlf, start);
    if (end == std::string_view::npos) end = block.size();
    const std::string_view line = block.substr(start, end - start);
    const std::size_t at = base + start;
    if (++lines > kMultipartMaxHeaderLines) {
      return at_byte(part_no, at,
                     "expected at most " + std::to_string(kMultipartMaxHeaderLines) + " header lines");
    }
    for (std::size_t i = 0; i < line.size(); ++i) {
      if (line[i] == '\n') return at_byte(part_no, at + i, "expected CRLF line endings, got a bare LF");
      if (line[i] == '\r') return at_byte(part_no, at + i, "expected CRLF line endings, got a bare CR");
    }
    if (line.empty() || is_ows(line.front())) {
      return at_byte(part_no, at, "expected a header line \"Name: value\" (folded lines are not accepted)");
    }
    std::size_t colon = 0;
    while (colon < line.size() && is_tchar(static_cast<unsigned char>(line[colon]))) ++colon;
    if (colon == 0 || colon == line.size() || line[colon] != ':') {
      return at_byte(part_no, at + colon, "expected a header name and ':', got " + quote(line));
    }
    const std::string name = lowered(line.substr(0, colon));
    std::size_t v_start = colon + 1;
    while (v_start < line.size() && is_ows(line[v_start])) ++v_start;
    const std::string_view value = trim_ows(line.substr(v_start));
    for (std::size_t i = 0; i < value.size(); ++i) {
      const auto c = static_cast<unsigned char>(value[i]);
      if (c != '\t' && (c < 0x20 || c == 0x7f)) {
        return at_byte(part_no, at + v_start + i, "expected no control characters in header " + quote(name));
      }
    }
    const std::size_t v_at = at + v_start;
    if (name == "content-disposition") {
      if (have_disposition) return at_byte(part_no, at, "expected one Content-Disposition header, got two");
      have_disposition = true;
      std::size_t i = 0;
      while (i < value.size() && is_tchar(static_cast<unsigned char>(value[i]))) ++i;
      if (lowered(value.substr(0, i)) != "form-data") {
        return at_byte(part_no, v_at,
                       "expected Content-Disposition form-data, got " + quote(value.substr(0, i)));
      }
      std::vector<Param> params;
      std::size_t err_at = 0;
      if (std::string what = parse_params(value, i, params, err_at); !what.empty()) {
        return at_byte(part_no, v_at + err_at, "Content-Disposition: " + what);
      }
      bool have_name = false;
      for (Param& p : params) {
        if (p.name == "name") {
          have_name = true;
          part.name = std::move(p.value);
        } else if (p.name == "filename") {
          part.filename = std::move(p.value);
        }
      }
      if (!have_name) return at_byte(part_no, v_at, "expected a name parameter in Content-Disposition");
      if (part.name.empty())
        return at_byte(part_no, v_at, "expected a non-empty name in Content-Disposition");
    } else if (name == "content-type") {
      if (have_type) return at_byte(part_no, at, "expected one Content-Type header, got two");
      have_type = true;
      const std::size_t type_end = parse_media_type(value);
      if (type_end == std::string_view::npos) {
        return at_byte(part_no, v_at, "expected a Content-Type \"type/subtype\", got " + quote(value));
      }
      std::vector<Param> params;
      std::size_t err_at = 0;
      if (std::string what = parse_params(value, type_end, params, err_at); !what.empty()) {
        return at_byte(part_no, v_at + err_at, "Content-Type: " + what);
      }
      part.content_type = std::string(value);
    } else if (name == "content-transfer-encoding") {
      if (have_encoding)
        return at_byte(part_no, at, "expected one Content-Transfer-Encoding header, got two");
      have_encoding = true;
      const std::string enc = lowered(value);
      if (enc != "7bit" && enc != "8bit" && enc != "binary") {
        return at_byte(part_no, v_at,
                       "expected Content-Transfer-Encoding 7bit, 8bit or binary, got " + quote(value));
      }
    }
    // Other headers are allowed and ignored.
    start = end + kCrlf.size();
  }
  if (!have_disposition) return at_byte(part_no, base, "expected a Content-Disposition header");
  if (!have_type) part.content_type = "text/plain";
  return Status::Ok();
}

}  // namespace

std::optional<std::string> multipart_boundary(std::string_view content_type) {
  auto b = boundary_of(content_type);
  if (!b.ok()) return std::nullopt;
  return std::move(b).value();
}

Result<std::vector<MultipartPart>> parse_multipart(std::string_view content_type, std::string_view body) {
  auto boundary = boundary_of(content_type);
  if (!boundary.ok()) return boundary.status();
  const std::string dash = "--" + *boundary;  // a delimiter line
  const std::string delim = "\r\n" + dash;    // a delimiter after a part's content
  // string_view::find looks for the CR, then compares the rest. Linear: the delimiter's only CR is its
  // first byte (a boundary has none), so two failed compares never cover the same bytes. (Boyer-Moore-
  // Horspool is O(n * 74) on a body of "BBBB..." for the boundary "BB...B": 60 times slower there.)
  const auto find_delim = [&](std::size_t from) { return body.find(delim, from); };
  // A hint for a missing delimiter: the same one after a bare LF means LF line endings.
  const auto lf_hint = [&](std::size_t from) -> std::string {
    const std::string lf_delim = "\n" + dash;
    return body.find(lf_delim, from) != std::string_view::npos
               ? " (found it after a bare LF: lines must end in CRLF)"
               : "";
  };

  if (body.empty()) return Status::Invalid("multipart body is empty: expected a delimiter " + quote(dash));
  std::size_t pos = 0;  // just after "--boundary"
  std::size_t delim_at = 0;
  if (body.starts_with(dash)) {
    pos = dash.size();
  } else {
    delim_at = find_delim(0);
    if (delim_at == std::string_view::npos) {
      return Status::Invalid("multipart byte 0: expected a first delimiter " + quote(dash) +
                             " at the start of the body or after a CRLF, found none" + lf_hint(0));
    }
    delim_at += kCrlf.size();
    pos = delim_at + dash.size();
  }

  std::vector<MultipartPart> parts;
  for (;;) {
    const std::size_t part_no = parts.size() + 1;
    const std::string_view rest = body.substr(pos);
    if (rest.starts_with("--")) {  // the closing delimiter; the epilogue is ignored
      if (parts.empty())
        return at_byte(part_no, delim_at, "expected at least one part before the closing delimiter");
      return parts;
    }
    std::size_t i = pos;
    while (i < body.size() && is_ows(body[i])) ++i;
    if (body.substr(i).starts_with(kCrlf)) {
      pos = i + kCrlf.size();
    } else {
      return at_byte(part_no, i,
                     "expected CRLF or \"--\" after the delimiter " + quote(dash) + " at byte " +
                         std::to_string(delim_at) + ", got " + describe(body, i));
    }
    if (parts.size() == kMultipartMaxParts) {
      return at_byte(part_no, delim_at, "expected at most " + std::to_string(kMultipartMaxParts) + " parts");
    }

    // Headers: up to the first CRLF CRLF, looked for only in the first 8 KiB (+4) of the part.
    MultipartPart part;
    const std::size_t window_size = std::min(body.size() - pos, kMultipartMaxHeaderBytes + 4);
    const std::string_view window = body.substr(pos, window_size);
    std::size_t content_start = 0;
    if (window.starts_with(kCrlf)) {
      TRUCE_RETURN_IF_ERROR(parse_headers({}, pos, part_no, part));
      content_start = pos + kCrlf.size();
    } else {
      const std::size_t e = window.find("\r\n\r\n");
      if (e == std::string_view::npos) {
        for (std::size_t k = 0; k < window.size(); ++k) {
          if (window[k] == '\n' && (k == 0 || window[k - 1] != '\r')) {
            return at_byte(part_no, pos + k, "expected CRLF line endings in the headers, got a bare LF");
          }
        }
        if (window.size() == kMultipartMaxHeaderBytes + 4) {
          return at_byte(part_no, pos,
                         "expected at most " + std::to_string(kMultipartMaxHeaderBytes) +
                             " bytes of headers ending in CRLF CRLF");
        }
        return at_byte(part_no, pos, "expected the headers to end in CRLF CRLF, got the end of the body");
      }
      TRUCE_RETURN_IF_ERROR(parse_headers(window.substr(0, e), pos, part_no, part));
      content_start = pos + e + 4;
    }

    // Content: up to the next CRLF "--boundary".
    const std::size_t d = find_delim(content_start);
    if (d == std::string_view::npos) {
      return at_byte(part_no, content_start,
                     "expected CRLF and a delimiter " + quote(dash) +
                         " after this part's content (and a closing " + quote(dash + "--") +
                         "), got the end of the body" + lf_hint(content_start));
    }
    part.content = std::string(body.substr(content_start, d - content_start));
    parts.push_back(std::move(part));
    delim_at = d + kCrlf.size();
    pos = delim_at + dash.size();
  }
}

}  // namespace truce::server
