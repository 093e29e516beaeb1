#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cstdio>

#include "server/server_impl.h"
#include "truce/server/server.h"

namespace truce::server {

namespace {
std::string hex(const unsigned char* p, std::size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s(2 * n, '0');
  for (std::size_t i = 0; i < n; ++i) {
    s[2 * i] = kHex[p[i] >> 4];
    s[2 * i + 1] = kHex[p[i] & 15];
  }
  return s;
}
}  // namespace

Result<std::string> new_token() {
  unsigned char b[32];
  if (RAND_bytes(b, sizeof b) != 1) return Status::Internal("no randomness available for a token");
  return hex(b, sizeof b);
}

Digest token_hash(std::string_view token) { return content_digest(token); }

std::string md5_hex(std::string_view s) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(s.data(), s.size(), out, &n, EVP_md5(), nullptr);
  return hex(out, n);
}

std::string digest_ha1(std::string_view name, std::string_view realm, std::string_view token) {
  std::string s;
  s.append(name).append(":").append(realm).append(":").append(token);
  return md5_hex(s);
}

std::string sha256_hex(std::string_view s) { return to_hex(content_digest(s)); }

// --- authentication of requests ---

Caller ServerImpl::authenticate(const Request& req, const Route& route) {
  Caller c;
  const std::string auth = req.get_header_value("Authorization");
  auto with_store = [&](auto fn) {
    std::lock_guard lk(store_mu_);
    return fn(*store_);
  };
  if (auth.rfind("Bearer ", 0) == 0) {
    auto u = with_store([&](Store& s) { return s.user_by_token(token_hash(auth.substr(7))); });
    if (u.ok() && *u) c.user = **u;
  } else if (auth.rfind("Basic ", 0) == 0 && opts_.allow_basic_auth && route.openrosa) {
    const std::string dec = base64_decode(auth.substr(6));
    const auto colon = dec.find(':');
    if (colon != std::string::npos) {
      auto u = with_store([&](Store& s) { return s.user_by_token(token_hash(dec.substr(colon + 1))); });
      if (u.ok() && *u && (*u)->name == dec.substr(0, colon)) c.user = **u;
    }
  } else if (auth.rfind("Digest ", 0) == 0 && route.openrosa) {
    c.user = check_digest(req, auth.substr(7));
  }
  if (c.user) {
    c.role = c.user->role;
  } else if (!auth.empty()) {
    c.bad_credentials = true;
  } else if (opts_.public_view) {
    c.role = "public";
  }
  return c;
}

std::string ServerImpl::make_nonce() {
  auto r = new_token();
  const std::string head =
      std::to_string(now().ms / 1000) + "-" + (r.ok() ? r->substr(0, 16) : std::string("0"));
  return head + "-" + sha256_hex(nonce_secret_ + head).substr(0, 32);
}

bool ServerImpl::nonce_fresh(const std::string& nonce) {
  const auto dash = nonce.rfind('-');
  if (dash == std::string::npos || dash == 0) return false;
  const std::string head = nonce.substr(0, dash);
  if (sha256_hex(nonce_secret_ + head).substr(0, 32) != nonce.substr(dash + 1)) return false;
  const long long t = std::atoll(head.c_str());
  const long long age = now().ms / 1000 - t;
  return age >= -60 && age <= 600;
}

std::optional<User> ServerImpl::check_digest(const Request& req, const std::string& params) {
  std::map<std::string, std::string> p;
  static const std::regex kParam(R"re((\w+)=(?:"([^"]*)"|([^,\s]*)))re");
  for (std::sregex_iterator it(params.begin(), params.end(), kParam), end; it != end; ++it) {
    p[(*it)[1]] = (*it)[2].matched ? (*it)[2].str() : (*it)[3].str();
  }
  if (p["realm"] != opts_.realm || !nonce_fresh(p["nonce"])) return std::nullopt;
  // qop=auth only (RFC 7616: the client's nonce count and cnonce go into the hash), for the
  // request it is sent with (the uri is the request target), and each nonce count used once.
  if (p["qop"] != "auth" || p["cnonce"].empty() || p["nc"].size() != 8) return std::nullopt;
  if (p["uri"] != req.target && p["uri"] != req.path) return std::nullopt;
  char* nc_end = nullptr;
  const unsigned long nc = std::strtoul(p["nc"].c_str(), &nc_end, 16);
  if (*nc_end != '\0' || nc == 0) return std::nullopt;
  std::optional<User> u;
  {
    std::lock_guard lk(store_mu_);
    auto r = store_->user_by_name(p["username"]);
    if (!r.ok() || !*r) return std::nullopt;
    u = **r;
  }
  const std::string ha2 = md5_hex(req.method + ":" + p["uri"]);
  const std::string expect = md5_hex(u->digest_ha1 + ":" + p["nonce"] + ":" + p["nc"] + ":" + p["cnonce"] +
                                     ":" + p["qop"] + ":" + ha2);
  if (expect != p["response"]) return std::nullopt;
  // A replayed request (same nonce, a count not above the last one seen) is refused.
  std::lock_guard lk(nonce_mu_);
  auto& last = nonce_counts_[p["nonce"]];
  if (nc <= last) return std::nullopt;
  last = nc;
  if (nonce_counts_.size() > 100000) nonce_counts_.clear();  // bounded: old nonces expire anyway
  return u;
}

void ServerImpl::challenge(Response& res) {
  res.set_header("WWW-Authenticate", "Digest realm=\"" + opts_.realm +
                                         "\", qop=\"auth\", algorithm=MD5, nonce=\"" + make_nonce() + "\"");
  if (opts_.allow_basic_auth) res.headers.emplace("WWW-Authenticate", "Basic realm=\"" + opts_.realm + "\"");
}

}  // namespace truce::server
