#include "truce/store/audit.h"

#include <openssl/evp.h>

#include <memory>

namespace truce {

namespace {
Digest sha256(const void* a, std::size_t na, const void* b, std::size_t nb) {
  // One context per thread, reused: creating an EVP_MD_CTX costs more than hashing a short record.
  thread_local std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(),
                                                                           &EVP_MD_CTX_free);
  // Fetched once: EVP_sha256() looks the provider's implementation up again at every init, which
  // cost as much as hashing an observation.
  static const std::unique_ptr<EVP_MD, decltype(&EVP_MD_free)> md(EVP_MD_fetch(nullptr, "SHA256", nullptr),
                                                                  &EVP_MD_free);
  Digest out{};
  unsigned int len = 0;
  EVP_DigestInit_ex(ctx.get(), md ? md.get() : EVP_sha256(), nullptr);
  EVP_DigestUpdate(ctx.get(), a, na);
  if (nb) EVP_DigestUpdate(ctx.get(), b, nb);
  EVP_DigestFinal_ex(ctx.get(), out.data(), &len);
  return out;
}
}  // namespace

Digest content_digest(std::string_view canonical) {
  return sha256(canonical.data(), canonical.size(), nullptr, 0);
}

Digest chain_link(const Digest& prev, const Digest& content) {
  return sha256(prev.data(), prev.size(), content.data(), content.size());
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
