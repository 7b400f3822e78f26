#include "core/mapped_file.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

#include "core/read_only_file.h"
#include "kvlm/error.h"

namespace kvlm {

MappedFile::MappedFile(const std::filesystem::path& path, bool populate) : path_(path) {
  const ReadOnlyFile file(path);
  size_ = file.size();
  if (size_ > 0) {
    void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE | (populate ? MAP_POPULATE : 0), file.fd(), 0);
    if (p == MAP_FAILED) throw Error("cannot map " + path.string() + ": " + std::strerror(errno));
    data_ = static_cast<const std::byte*>(p);
  }
}

MappedFile::MappedFile(MappedFile&& other) noexcept
    : path_(std::move(other.path_)), data_(other.data_), size_(other.size_) {
  other.data_ = nullptr;
  other.size_ = 0;
}

MappedFile::~MappedFile() {
  if (data_) ::munmap(const_cast<std::byte*>(data_), size_);
}

void MappedFile::release(const void* begin, std::size_t bytes) const {
  // madvise needs page alignment: shrink the range inwards.
  const std::uintptr_t page = std::uintptr_t(::sysconf(_SC_PAGESIZE));
  std::uintptr_t b = (reinterpret_cast<std::uintptr_t>(begin) + page - 1) & ~(page - 1);
  const std::uintptr_t e = (reinterpret_cast<std::uintptr_t>(begin) + bytes) & ~(page - 1);
  if (e > b) ::madvise(reinterpret_cast<void*>(b), e - b, MADV_DONTNEED);
}

}  // namespace kvlm
