// PackageFile::copy_into_memory: the pool's threads each read a 32 MiB chunk
// of the file. A package whose blob runs across several chunk boundaries and
// ends mid-chunk must give the file's bytes, read here with plain pread, after
// the copy as through the mapping. The expected bytes come from std::ifstream,
// not from ReadOnlyFile, which the copy uses.
#include "io/package_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "io/package_format.h"

namespace kvlm {
namespace {

// Writes a minimal valid package whose one blob is `data_bytes` of a
// position-dependent pattern, and returns the offset of the data section.
std::size_t write_package(const std::filesystem::path& path, std::size_t data_bytes) {
  const std::size_t data_offset = 4096;
  const nlohmann::json header = {{"format_version", package::kFormatVersion},
                                 {"dtype", "f16"},
                                 {"config", nlohmann::json::object()},
                                 {"tensors", nlohmann::json::object()},
                                 {"data_offset", data_offset}};
  const std::string text = header.dump();
  std::vector<char> bytes(data_offset + data_bytes, 0);
  std::memcpy(bytes.data(), package::kMagic.data(), 8);
  const std::uint64_t header_len = text.size();
  std::memcpy(bytes.data() + 8, &header_len, 8);
  std::memcpy(bytes.data() + 16, text.data(), text.size());
  // A 64-bit index every 8 bytes (mixed so no chunk repeats another).
  for (std::size_t i = 0; i + 8 <= data_bytes; i += 8) {
    const std::uint64_t v = (i / 8) * 0x9E3779B97F4A7C15ull;
    std::memcpy(bytes.data() + data_offset + i, &v, 8);
  }
  std::ofstream(path, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
  return data_offset;
}

TEST(PackageFileTest, CopyAcrossChunksMatchesTheFile) {
  const auto path = std::filesystem::temp_directory_path() / ("kvlm_package_copy_" + std::to_string(::getpid()));
  const std::size_t data_bytes = (std::size_t(100) << 20) + 4096 + 64;  // 3 full chunks and a partial one
  const std::size_t data_offset = write_package(path, data_bytes);
  std::vector<std::byte> expected(data_bytes);
  std::ifstream in(path, std::ios::binary);
  in.seekg(std::streamoff(data_offset));
  in.read(reinterpret_cast<char*>(expected.data()), std::streamsize(data_bytes));
  ASSERT_TRUE(in) << "cannot read back " << path;

  for (int threads : {1, 2, 3}) {
    ThreadPool pool(threads);
    PackageFile package(path);
    const auto range = nlohmann::json::array({std::size_t(0), data_bytes});
    const Blob mapped = package.blob(range, "blob");
    ASSERT_EQ(std::memcmp(mapped.data, expected.data(), data_bytes), 0);
    package.copy_into_memory(pool);
    const Blob copied = package.blob(range, "blob");
    EXPECT_NE(copied.data, mapped.data) << "blobs still point into the mapping";
    EXPECT_EQ(std::memcmp(copied.data, expected.data(), data_bytes), 0) << threads << " threads";
    EXPECT_EQ(package.header()["data_offset"].get<std::size_t>(), data_offset);
  }
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace kvlm
