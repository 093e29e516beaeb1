#include "truce/store/audit.h"

#include <openssl/evp.h>

namespace truce {

Digest chain_link(const Digest& prev, std::string_view canonical) {
  // One context per thread, reused: EVP_MD_CTX creation dominates for short records.
  thread_local EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  thread_local const EVP_MD* md = EVP_sha256();
  Digest out{};
  unsigned int len = 0;
  EVP_DigestInit_ex(ctx, md, nullptr);
  EVP_DigestUpdate(ctx, prev.data(), prev.size());
  EVP_DigestUpdate(ctx, canonical.data(), canonical.size());
  EVP_DigestFinal_ex(ctx, out.data(), &len);
  return out;
}

std::string to_hex(const Digest& d) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s(64, '0');
  for (std::size_t i = 0; i < d.size(); ++i) {
    s[2 * i] = kHex[d[i] >> 4];
    s[2 * i + 1] = kHex[d[i] & 15];
  }
  return s;
}

}  // namespace truce
