#include "core/read_only_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "kvlm/error.h"

namespace kvlm {

ReadOnlyFile::ReadOnlyFile(const std::filesystem::path& path) : path_(path) {
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) throw Error("cannot open " + path.string() + ": " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd_);
    throw Error("not a regular file: " + path.string());
  }
  size_ = std::size_t(st.st_size);
}

ReadOnlyFile::~ReadOnlyFile() { ::close(fd_); }

void ReadOnlyFile::read_at(void* dst, std::size_t offset, std::size_t n) const {
  auto* out = static_cast<char*>(dst);
  std::size_t done = 0;
  while (done < n) {
    const ::ssize_t got =
        ::pread(fd_, out + done, std::min<std::size_t>(n - done, std::size_t(1) << 30), ::off_t(offset + done));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0)
      throw Error("cannot read " + path_.string() + ": " + (got < 0 ? std::strerror(errno) : "unexpected end of file"));
    done += std::size_t(got);
  }
}

bool file_starts_with(const std::filesystem::path& path, std::string_view magic) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return false;
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return false;
  std::string head(magic.size(), '\0');
  const bool ok = std::fread(head.data(), 1, head.size(), f) == head.size() && head == magic;
  std::fclose(f);
  return ok;
}

}  // namespace kvlm
