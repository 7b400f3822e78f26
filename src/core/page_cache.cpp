#include "core/page_cache.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <fstream>
#include <string>
#include <string_view>
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

namespace {

constexpr std::size_t kHugePage = std::size_t(2) << 20;

// Sums /proc/self/smaps over the mappings whose header `wanted(lo, hi,
// pathname)` accepts: their bytes and their FilePmdMapped bytes.
template <class Wanted>
std::optional<FileMapping> scan_smaps(Wanted wanted) {
  std::ifstream smaps("/proc/self/smaps");
  if (!smaps) return std::nullopt;
  FileMapping m;
  bool inside = false;
  for (std::string line; std::getline(smaps, line);) {
    // A mapping's header: "lo-hi perms offset dev inode   pathname".
    unsigned long lo = 0, hi = 0, offset = 0, inode = 0;
    char perms[8], dev[16];
    int name_at = 0;
    if (std::sscanf(line.c_str(), "%lx-%lx %7s %lx %15s %lu %n", &lo, &hi, perms, &offset, dev, &inode, &name_at) >= 6 &&
        line.find('-') < line.find(' ')) {
      inside = wanted(lo, hi, std::string_view(line).substr(name_at > 0 ? std::size_t(name_at) : line.size()));
      if (inside) m.bytes += hi - lo;
    } else if (inside && line.rfind("FilePmdMapped:", 0) == 0) {
      m.huge_bytes += std::stoul(line.substr(line.find(':') + 1)) * 1024;
    }
  }
  return m;
}

}  // namespace

std::optional<FileMapping> file_mapping(const std::filesystem::path& path) {
  std::error_code ec;
  const std::filesystem::path resolved = std::filesystem::weakly_canonical(path, ec);
  const std::string name = (ec ? path : resolved).string();
  return scan_smaps([&](unsigned long, unsigned long, std::string_view pathname) { return pathname == name; });
}

std::optional<double> huge_mapped_share(const std::filesystem::path& path) {
  constexpr std::size_t kSamples = 32;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  struct stat st {};
  const std::size_t size = ::fstat(fd, &st) == 0 ? std::size_t(st.st_size) : 0;
  // The same kind of mapping as MappedFile's, so it gets the same entries.
  void* p = size >= kHugePage ? ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0) : MAP_FAILED;
  ::close(fd);
  if (p == MAP_FAILED) return std::nullopt;
  const std::size_t regions = size / kHugePage, samples = std::min(kSamples, regions);
  unsigned sum = 0;
  for (std::size_t i = 0; i < samples; ++i)
    sum += static_cast<const volatile unsigned char*>(p)[(i * regions / samples) * kHugePage + kHugePage / 2];
  const auto at = reinterpret_cast<unsigned long>(p);
  const std::optional<FileMapping> m =
      scan_smaps([&](unsigned long lo, unsigned long, std::string_view) { return lo == at; });
  ::munmap(p, size);
  (void)sum;
  if (!m) return std::nullopt;
  return std::min(1.0, double(m->huge_bytes) / double(samples * kHugePage));
}

bool anonymous_huge_pages_available() {
  std::ifstream enabled("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string modes;
  std::getline(enabled, modes);
  return modes.find("[always]") != std::string::npos || modes.find("[madvise]") != std::string::npos;
}

}  // namespace kvlm
