// Digest over OpenSSL's EVP interface (libcrypto), which picks SHA-NI / AVX2
// code paths at run time.
#include "digest.h"

#include <openssl/evp.h>

#include "kvlm/error.h"

namespace kvlm::cli {

struct Digest::Ctx {
  EVP_MD_CTX* md = nullptr;
  ~Ctx() { EVP_MD_CTX_free(md); }
};

Digest::Digest(const void* type) : ctx_(std::make_unique<Ctx>()) {
  ctx_->md = EVP_MD_CTX_new();
  if (!ctx_->md || EVP_DigestInit_ex(ctx_->md, static_cast<const EVP_MD*>(type), nullptr) != 1)
    throw Error("OpenSSL could not start a digest");
}
Digest::~Digest() = default;
Digest::Digest(Digest&&) noexcept = default;
Digest& Digest::operator=(Digest&&) noexcept = default;

Digest Digest::sha256() { return Digest(EVP_sha256()); }
Digest Digest::sha1() { return Digest(EVP_sha1()); }

void Digest::update(const void* data, std::size_t bytes) {
  if (EVP_DigestUpdate(ctx_->md, data, bytes) != 1) throw Error("OpenSSL digest update failed");
}

std::string Digest::hex_final() {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (EVP_DigestFinal_ex(ctx_->md, out, &n) != 1) throw Error("OpenSSL digest failed");
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < n; ++i) {
    hex += kHex[out[i] >> 4];
    hex += kHex[out[i] & 15];
  }
  return hex;
}

}  // namespace kvlm::cli
