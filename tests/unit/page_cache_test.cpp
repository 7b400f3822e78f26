// sync_and_recache leaves a just-written file cached in folios that the
// kernel maps with 2 MiB entries, where kernel and filesystem do that at all
// (the test skips otherwise); as written, the file maps with fewer of them.
#include "core/page_cache.h"

#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "core/read_only_file.h"

namespace kvlm {
namespace {

constexpr std::size_t kHugePage = std::size_t(2) << 20;

// Maps `path` at a 2 MiB-aligned address, reads every page, and returns the
// FilePmdMapped bytes /proc/self/smaps reports for that mapping, read here by
// hand (the skip below must not hang on the code under test); file_mapping
// must report the same mapping and count.
std::size_t file_pmd_mapped_bytes(const std::filesystem::path& path) {
  const ReadOnlyFile file(path);
  const std::size_t size = file.size();
  void* reserved = ::mmap(nullptr, size + kHugePage, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  EXPECT_NE(reserved, MAP_FAILED);
  const std::uintptr_t aligned = (reinterpret_cast<std::uintptr_t>(reserved) + kHugePage - 1) & ~(kHugePage - 1);
  void* p = ::mmap(reinterpret_cast<void*>(aligned), size, PROT_READ, MAP_PRIVATE | MAP_FIXED, file.fd(), 0);
  EXPECT_NE(p, MAP_FAILED);
  unsigned sum = 0;
  for (std::size_t i = 0; i < size; i += 4096) sum += static_cast<const volatile unsigned char*>(p)[i];
  EXPECT_EQ(sum, 0u);  // the file is zeros
  std::size_t pmd_kb = 0;
  std::ifstream smaps("/proc/self/smaps");
  bool inside = false;
  for (std::string line; std::getline(smaps, line);) {
    unsigned long lo = 0, hi = 0;
    char perms[8];
    if (std::sscanf(line.c_str(), "%lx-%lx %7s", &lo, &hi, perms) == 3)
      inside = lo <= aligned && aligned < hi;
    else if (inside && line.rfind("FilePmdMapped:", 0) == 0)
      pmd_kb += std::stoul(line.substr(line.find(':') + 1));
  }
  const std::optional<FileMapping> mapped = file_mapping(path);
  ::munmap(reserved, size + kHugePage);
  EXPECT_TRUE(mapped && mapped->bytes == size && mapped->huge_bytes == pmd_kb * 1024)
      << (mapped ? std::to_string(mapped->bytes) + " bytes, " + std::to_string(mapped->huge_bytes) + " huge" : "none");
  return pmd_kb * 1024;
}

void write_zeros(const std::filesystem::path& path, std::size_t size) {
  std::ofstream out(path, std::ios::binary);
  const std::vector<char> zeros(1 << 20, 0);
  for (std::size_t at = 0; at < size; at += zeros.size()) out.write(zeros.data(), std::streamsize(zeros.size()));
}

// The control, by hand: sync, drop, read back with a plain stream.
void recache_by_hand(const std::filesystem::path& path) {
  const ReadOnlyFile file(path);
  ASSERT_EQ(::fdatasync(file.fd()), 0);
  ASSERT_EQ(::posix_fadvise(file.fd(), 0, 0, POSIX_FADV_DONTNEED), 0);
  std::ifstream in(path, std::ios::binary);
  std::vector<char> chunk(1 << 20);
  while (in.read(chunk.data(), std::streamsize(chunk.size()))) {
  }
}

TEST(PageCacheTest, RecachedFileMapsWithHugeEntries) {
  const auto dir = std::filesystem::temp_directory_path();
  const auto control = dir / ("kvlm_page_cache_control_" + std::to_string(::getpid()));
  const auto path = dir / ("kvlm_page_cache_" + std::to_string(::getpid()));
  const std::size_t size = 64 * kHugePage;
  write_zeros(control, size);
  recache_by_hand(control);
  const std::size_t by_hand = file_pmd_mapped_bytes(control);
  std::filesystem::remove(control);
  if (by_hand == 0) GTEST_SKIP() << "no re-read file page of this kernel / filesystem maps with a 2 MiB entry";

  write_zeros(path, size);
  const std::size_t as_written = file_pmd_mapped_bytes(path);
  const std::optional<double> as_written_share = huge_mapped_share(path);
  ASSERT_TRUE(sync_and_recache(path));
  const std::size_t recached = file_pmd_mapped_bytes(path);
  const std::optional<double> recached_share = huge_mapped_share(path);
  std::filesystem::remove(path);
  // Readahead's folios grow as it goes: 56 of these 128 MiB map whole here,
  // 95% of a 1B model's package.
  EXPECT_GE(recached, size / 4);
  EXPECT_GT(recached, as_written);
  // The sampled share (32 of the 64 regions) tells the two states apart as
  // the whole mapping's count does.
  ASSERT_TRUE(as_written_share && recached_share);
  EXPECT_GE(*as_written_share, 0.0);
  EXPECT_LE(*recached_share, 1.0);
  EXPECT_NEAR(*recached_share, double(recached) / double(size), 0.2);
  EXPECT_NEAR(*as_written_share, double(as_written) / double(size), 0.2);
  EXPECT_GT(*recached_share, *as_written_share);
}

TEST(PageCacheTest, HugeMappedShareNeedsAWholeRegion) {
  const auto path = std::filesystem::temp_directory_path() / ("kvlm_small_" + std::to_string(::getpid()));
  write_zeros(path, std::size_t(1) << 20);
  EXPECT_FALSE(huge_mapped_share(path));  // under 2 MiB: no entry could map it
  std::filesystem::remove(path);
  EXPECT_FALSE(huge_mapped_share(path));  // gone
}

TEST(PageCacheTest, MissingFileFails) {
  EXPECT_FALSE(sync_and_recache(std::filesystem::temp_directory_path() / "kvlm_no_such_file_here"));
}

// file_mapping counts this process's live mappings of the file, under any
// name that resolves to it, and nothing else.
TEST(PageCacheTest, FileMappingCountsLiveMappings) {
  if (!file_mapping("/")) GTEST_SKIP() << "no /proc/self/smaps";
  const auto dir = std::filesystem::temp_directory_path();
  const auto path = dir / ("kvlm file mapping " + std::to_string(::getpid()));  // a space: smaps prints names raw
  const auto link = dir / ("kvlm_file_mapping_link_" + std::to_string(::getpid()));
  const std::size_t size = std::size_t(3) << 20;
  write_zeros(path, size);
  std::filesystem::create_symlink(path, link);
  EXPECT_EQ(file_mapping(path)->bytes, 0u);
  {
    const ReadOnlyFile file(path);
    void* whole = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, file.fd(), 0);
    void* part = ::mmap(nullptr, 4096, PROT_READ, MAP_SHARED, file.fd(), 8192);
    ASSERT_NE(whole, MAP_FAILED);
    ASSERT_NE(part, MAP_FAILED);
    EXPECT_EQ(file_mapping(path)->bytes, size + 4096);
    EXPECT_EQ(file_mapping(link)->bytes, size + 4096);
    EXPECT_EQ(file_mapping(dir / "kvlm_no_such_file")->bytes, 0u);
    ::munmap(part, 4096);
    EXPECT_EQ(file_mapping(path)->bytes, size);
    ::munmap(whole, size);
  }
  EXPECT_EQ(file_mapping(path)->bytes, 0u);
  std::filesystem::remove(link);
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace kvlm
