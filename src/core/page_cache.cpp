#include "core/page_cache.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
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

// A mapping's header line in /proc/self/smaps:
// "lo-hi perms offset major:minor inode   pathname".
struct SmapsHeader {
  unsigned long lo = 0, hi = 0, inode = 0;
  unsigned major = 0, minor = 0;
};

// Sums /proc/self/smaps over the mappings `wanted(header)` accepts: their
// bytes, and those mapped with 2 MiB entries (FilePmdMapped; ShmemPmdMapped
// for tmpfs). nullopt if smaps is unreadable, or if it reports no such count
// for an accepted mapping (a kernel too old to: unknown, not zero).
template <class Wanted>
std::optional<FileMapping> scan_smaps(Wanted wanted) {
  std::ifstream smaps("/proc/self/smaps");
  if (!smaps) return std::nullopt;
  FileMapping m;
  bool inside = false, accepted = false, counted = false;
  for (std::string line; std::getline(smaps, line);) {
    SmapsHeader h;
    char perms[8];
    unsigned long offset = 0;
    if (line.find('-') < line.find(' ') && std::sscanf(line.c_str(), "%lx-%lx %7s %lx %x:%x %lu", &h.lo, &h.hi, perms,
                                                       &offset, &h.major, &h.minor, &h.inode) == 7) {
      inside = wanted(h);
      if (inside) m.bytes += h.hi - h.lo;
      accepted = accepted || inside;
    } else if (inside && (line.rfind("FilePmdMapped:", 0) == 0 || line.rfind("ShmemPmdMapped:", 0) == 0)) {
      m.huge_bytes += std::size_t(std::strtoull(line.c_str() + line.find(':') + 1, nullptr, 10)) * 1024;
      counted = true;
    }
  }
  if (accepted && !counted) return std::nullopt;
  return m;
}

// Reads the first line of a sysfs file ("" if there is none).
std::string first_line(const char* path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

}  // namespace

std::optional<FileMapping> file_mapping(const std::filesystem::path& path) {
  // By device and inode, not by name: smaps escapes some characters, marks
  // replaced files " (deleted)" and may show another name for the same file.
  struct stat st {};
  const bool exists = ::stat(path.c_str(), &st) == 0;
  return scan_smaps([&](const SmapsHeader& h) {
    return exists && h.inode == st.st_ino && h.major == major(st.st_dev) && h.minor == minor(st.st_dev);
  });
}

std::optional<double> huge_mapped_share(const std::filesystem::path& path) {
  constexpr std::size_t kSamples = 32;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  struct stat st {};
  struct statfs fs {};
  const bool known = ::fstat(fd, &st) == 0 && ::fstatfs(fd, &fs) == 0;
  const std::size_t size = known ? std::size_t(st.st_size) : 0;
  // tmpfs pages are memory already: a copy would only double them.
  const bool sample = known && fs.f_type != TMPFS_MAGIC && size >= kHugePage;
  // The same kind of mapping as MappedFile's, so it gets the same entries.
  void* p = sample ? ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0) : MAP_FAILED;
  ::close(fd);
  if (p == MAP_FAILED) return std::nullopt;
  struct Unmap {
    void* p;
    std::size_t bytes;
    ~Unmap() { ::munmap(p, bytes); }
  } unmap{p, size};
  const std::size_t regions = size / kHugePage, samples = std::min(kSamples, regions);
  for (std::size_t i = 0; i < samples; ++i)  // the middle of a region: its fault-around stays inside it
    static_cast<void>(static_cast<const volatile unsigned char*>(p)[(i * regions / samples) * kHugePage + kHugePage / 2]);
  const auto at = reinterpret_cast<unsigned long>(p);
  const std::optional<FileMapping> m = scan_smaps([&](const SmapsHeader& h) { return h.lo == at; });
  if (!m || m->bytes == 0) return std::nullopt;  // no count, or the mapping not listed: unknown
  return std::min(1.0, double(m->huge_bytes) / double(samples * kHugePage));
}

bool anonymous_huge_pages_available() {
  // Since Linux 6.8 each page size has its own setting; "inherit" (or none:
  // older kernels) defers to the top-level one.
  const std::string pmd = first_line("/sys/kernel/mm/transparent_hugepage/hugepages-2048kB/enabled");
  const std::string modes = pmd.empty() || pmd.find("[inherit]") != std::string::npos
                                ? first_line("/sys/kernel/mm/transparent_hugepage/enabled")
                                : pmd;
  return modes.find("[always]") != std::string::npos || modes.find("[madvise]") != std::string::npos;
}

std::optional<std::size_t> available_memory() {
  std::ifstream meminfo("/proc/meminfo");
  for (std::string line; std::getline(meminfo, line);)
    if (line.rfind("MemAvailable:", 0) == 0)
      return std::size_t(std::strtoull(line.c_str() + line.find(':') + 1, nullptr, 10)) * 1024;
  return std::nullopt;
}

}  // namespace kvlm
