// Helpers the report's renderers share: escaping and number formatting. Private to src/report.
#pragma once

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

namespace truce::report::detail {

// "7,012": thousands separated as a mission's report writes them.
inline std::string thousands(std::int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n), out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return n < 0 ? "-" + out : out;
}

// Fixed decimals, "-0.0" written as "0.0".
inline std::string fixed(double v, int decimals) {
  char b[64];
  std::snprintf(b, sizeof b, "%.*f", decimals, v);
  std::string s = b;
  if (s.rfind("-0", 0) == 0 && s.find_first_not_of("-0.") == std::string::npos) s.erase(0, 1);
  return s;
}

// "1,675.1": fixed decimals with thousands separated.
inline std::string fixed_thousands(double v, int decimals) {
  std::string s = fixed(v, decimals);
  const bool neg = !s.empty() && s[0] == '-';
  const std::size_t dot = s.find('.');
  const std::string whole =
      s.substr(neg ? 1 : 0, (dot == std::string::npos ? s.size() : dot) - (neg ? 1 : 0));
  std::string out;
  for (std::size_t i = 0; i < whole.size(); ++i) {
    if (i && (whole.size() - i) % 3 == 0) out += ',';
    out += whole[i];
  }
  return (neg ? "-" : "") + out + (dot == std::string::npos ? "" : s.substr(dot));
}

// "+3", "-2", "0"
inline std::string signed_int(std::int64_t n) { return n > 0 ? "+" + thousands(n) : thousands(n); }
inline std::string signed_fixed(double v, int decimals) {
  const std::string s = fixed_thousands(v, decimals);
  return v > 0 && s.find_first_not_of("0.") != std::string::npos ? "+" + s : s;
}
inline std::string pct(const std::optional<double>& p) {
  return p ? " (" + signed_fixed(*p, 1) + " %)" : std::string();
}

inline std::string html_escape(std::string_view s) {
  std::string o;
  o.reserve(s.size() + 8);
  for (char c : s) {
    switch (c) {
      case '&':
        o += "&amp;";
        break;
      case '<':
        o += "&lt;";
        break;
      case '>':
        o += "&gt;";
        break;
      case '"':
        o += "&quot;";
        break;
      case '\'':
        o += "&#39;";
        break;
      default:
        o += c;
    }
  }
  return o;
}

// Text inside a Markdown table cell or paragraph: no table breaks, no accidental markup.
inline std::string md_escape(std::string_view s) {
  std::string o;
  o.reserve(s.size() + 8);
  for (char c : s) {
    // '_' stays: GitHub-flavoured Markdown never emphasises inside a word (small_arms).
    if (c == '|' || c == '*' || c == '`' || c == '[' || c == ']' || c == '<' || c == '>' || c == '\\')
      o += '\\';
    if (c == '\n' || c == '\r') {
      o += ' ';
      continue;
    }
    o += c;
  }
  return o;
}

}  // namespace truce::report::detail
