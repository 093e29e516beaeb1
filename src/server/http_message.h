// A request as the handlers see it and the response they fill in, independent of the HTTP engine
// that reads and writes them (src/server/engine.cpp). Private to the server module.
#pragma once

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

namespace truce::server {

// Header names compare without regard to case (RFC 9110 section 5.1).
struct CaseInsensitiveLess {
  bool operator()(std::string_view a, std::string_view b) const {
    return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
      return std::tolower(static_cast<unsigned char>(x)) < std::tolower(static_cast<unsigned char>(y));
    });
  }
};
using Headers = std::multimap<std::string, std::string, CaseInsensitiveLess>;

struct Request {
  std::string method;  // GET, HEAD, POST, ...
  std::string target;  // as sent: path and query, still percent-encoded
  std::string path;    // the target's path, percent-decoded (may hold any byte)
  std::string body;
  std::string remote_addr;  // the client's IP address
  Headers headers;
  std::multimap<std::string, std::string> params;  // the query, decoded
  std::smatch matches;                             // the route's captures over `path`

  std::string get_header_value(std::string_view name) const {
    const auto it = headers.find(std::string(name));
    return it == headers.end() ? std::string() : it->second;
  }
  bool has_header(std::string_view name) const { return headers.count(std::string(name)) > 0; }
  bool has_param(const std::string& name) const { return params.count(name) > 0; }
  std::string get_param_value(const std::string& name) const {
    const auto it = params.find(name);
    return it == params.end() ? std::string() : it->second;
  }
};

// A response that is written as the stream produces it (text/event-stream): the engine calls
// `poll` every `interval` and writes what it returns (nothing when empty) until `done` is set or
// the client goes; `close` runs once at the end, however it ends. No worker thread is held.
struct ResponseStream {
  std::chrono::milliseconds interval{100};
  std::function<std::string(bool& done)> poll;
  std::function<void()> close;
};

struct Response {
  int status = -1;  // -1: not set (200 when there is content)
  Headers headers;
  std::string body;
  std::shared_ptr<ResponseStream> stream;  // set: a streamed body instead of `body`

  void set_header(const std::string& name, const std::string& value) {
    headers.erase(name);
    headers.emplace(name, value);
  }
  void set_content(std::string content, const std::string& content_type) {
    body = std::move(content);
    set_header("Content-Type", content_type);
  }
  std::string get_header_value(std::string_view name) const {
    const auto it = headers.find(std::string(name));
    return it == headers.end() ? std::string() : it->second;
  }
};

}  // namespace truce::server
