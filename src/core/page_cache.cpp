#include "core/page_cache.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
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

}  // namespace kvlm
