#include "core/page_cache.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <fstream>
#include <string>
#include <system_error>
#include <vector>

namespace kvlm {

bool sync_and_recache(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = ::fdatasync(fd) == 0;
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);  // clean pages only: hence the sync first
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  std::vector<char> buffer(std::size_t(4) << 20);
  while (ok) {
    const ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n == 0) break;
    if (n < 0 && errno != EINTR) ok = false;
  }
  const int saved = errno;
  ::close(fd);
  errno = saved;
  return ok;
}

std::optional<FileMapping> file_mapping(const std::filesystem::path& path) {
  std::ifstream smaps("/proc/self/smaps");
  if (!smaps) return std::nullopt;
  std::error_code ec;
  const std::filesystem::path resolved = std::filesystem::weakly_canonical(path, ec);
  const std::string wanted = (ec ? path : resolved).string();
  FileMapping m;
  bool inside = false;
  for (std::string line; std::getline(smaps, line);) {
    // A mapping's header: "lo-hi perms offset dev inode   pathname".
    unsigned long lo = 0, hi = 0, offset = 0, inode = 0;
    char perms[8], dev[16];
    int name_at = 0;
    if (std::sscanf(line.c_str(), "%lx-%lx %7s %lx %15s %lu %n", &lo, &hi, perms, &offset, dev, &inode, &name_at) >= 6 &&
        line.find('-') < line.find(' ')) {
      inside = name_at > 0 && line.compare(std::size_t(name_at), std::string::npos, wanted) == 0;
      if (inside) m.bytes += hi - lo;
    } else if (inside && line.rfind("FilePmdMapped:", 0) == 0) {
      m.huge_bytes += std::stoul(line.substr(line.find(':') + 1)) * 1024;
    }
  }
  return m;
}

}  // namespace kvlm
