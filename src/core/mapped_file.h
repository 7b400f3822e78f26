// A read-only memory mapping of a whole file. Move-only.
#pragma once

#include <cstddef>
#include <filesystem>

namespace kvlm {

class MappedFile {
 public:
  // Throws Error naming the path if it cannot be opened or mapped.
  // populate: map every page now (MAP_POPULATE), for a file whose every
  // byte is about to be read: one batched pass of page-table set-up instead
  // of a fault per 4 KiB page during the first forward pass.
  explicit MappedFile(const std::filesystem::path& path, bool populate = false);
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&&) = delete;
  MappedFile(const MappedFile&) = delete;
  ~MappedFile();

  const std::byte* data() const { return data_; }
  std::size_t size() const { return size_; }
  const std::filesystem::path& path() const { return path_; }
  // Tells the kernel this range will not be read again (after conversion).
  void release(const void* begin, std::size_t bytes) const;

 private:
  std::filesystem::path path_;
  const std::byte* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace kvlm
