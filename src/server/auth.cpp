#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cstdio>

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

}  // namespace truce::server
