// An open, regular, read-only file descriptor (RAII) and whole-file reads,
// with errors that name the path.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string_view>

namespace kvlm {

class ReadOnlyFile {
 public:
  // Throws Error "cannot open PATH: reason" or "not a regular file: PATH".
  explicit ReadOnlyFile(const std::filesystem::path& path);
  ~ReadOnlyFile();
  ReadOnlyFile(const ReadOnlyFile&) = delete;
  ReadOnlyFile& operator=(const ReadOnlyFile&) = delete;

  int fd() const { return fd_; }
  std::size_t size() const { return size_; }
  // Reads bytes [0, n) of the file into dst; throws Error on a short read.
  void read_prefix(void* dst, std::size_t n) const { read_at(dst, 0, n); }
  // Reads bytes [offset, offset + n) into dst; throws Error on a short read.
  // Safe to call from several threads at once (pread).
  void read_at(void* dst, std::size_t offset, std::size_t n) const;

 private:
  std::filesystem::path path_;
  int fd_ = -1;
  std::size_t size_ = 0;
};

// True when `path` is a regular file whose first bytes are `magic` (false,
// never an error, for anything that cannot be read).
bool file_starts_with(const std::filesystem::path& path, std::string_view magic);

}  // namespace kvlm
