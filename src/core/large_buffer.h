// A large, uninitialised, page-aligned allocation for converted weights.
// Backed by anonymous mmap with transparent huge pages requested, because
// first-touch page faults (not the conversion) dominate loading gigabytes.
#pragma once

#include <cstddef>

namespace kvlm {

class LargeBuffer {
 public:
  explicit LargeBuffer(std::size_t bytes);
  LargeBuffer(LargeBuffer&& other) noexcept;
  LargeBuffer& operator=(LargeBuffer&&) = delete;
  LargeBuffer(const LargeBuffer&) = delete;
  ~LargeBuffer();

  std::byte* data() const { return data_; }
  std::size_t size() const { return size_; }

 private:
  std::byte* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace kvlm
