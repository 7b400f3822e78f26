// Streaming SHA-256 / SHA-1 (OpenSSL EVP) for checking downloads against the
// checksums the Hugging Face hub publishes.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

namespace kvlm::cli {

class Digest {
 public:
  static Digest sha256();
  static Digest sha1();
  ~Digest();
  Digest(Digest&&) noexcept;
  Digest& operator=(Digest&&) noexcept;

  void update(const void* data, std::size_t bytes);
  // The digest as lowercase hex; the Digest is spent afterwards.
  std::string hex_final();

 private:
  struct Ctx;
  explicit Digest(const void* type);  // an EVP_MD*, kept out of this header
  std::unique_ptr<Ctx> ctx_;
};

}  // namespace kvlm::cli
