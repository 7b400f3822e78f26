#include "core/large_buffer.h"

#include <sys/mman.h>

#include <new>

namespace kvlm {

LargeBuffer::LargeBuffer(std::size_t bytes) : size_(bytes) {
  if (bytes == 0) return;
  void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
#ifdef MADV_HUGEPAGE
  ::madvise(p, bytes, MADV_HUGEPAGE);  // a hint; ignored where THP is off
#endif
  data_ = static_cast<std::byte*>(p);
}

LargeBuffer::LargeBuffer(LargeBuffer&& other) noexcept : data_(other.data_), size_(other.size_) {
  other.data_ = nullptr;
  other.size_ = 0;
}

LargeBuffer::~LargeBuffer() {
  if (data_) ::munmap(data_, size_);
}

}  // namespace kvlm
