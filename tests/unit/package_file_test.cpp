// PackageFile::copy_into_memory: the pool's threads claim the file's
// kCopyChunkBytes chunks. A package whose blob runs across several chunk
// boundaries and ends mid-chunk must give the file's bytes after the copy as
// through the mapping. The expected bytes come from std::ifstream, not from
// ReadOnlyFile, which the copy uses.
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
#include "io/package_checksum.h"
#include "io/package_format.h"
#include "kvlm/error.h"

namespace kvlm {
namespace {

// Writes a minimal valid package (its header sealed with its checksum, as
// io/package_format.h lays it out) whose one blob is `data_bytes` of a
// position-dependent pattern, and returns the offset of the data section.
std::size_t write_package(const std::filesystem::path& path, std::size_t data_bytes) {
  const std::size_t data_offset = 4096;
  const nlohmann::json header = {{"format_version", package::kFormatVersion},
                                 {"dtype", "f16"},
                                 {"config", nlohmann::json::object()},
                                 {"tensors", nlohmann::json::object()},
                                 {"data_offset", data_offset}};
  std::string text = header.dump();
  text.append(data_offset - 24 - text.size(), ' ');
  std::vector<char> bytes(data_offset + data_bytes, 0);
  std::memcpy(bytes.data(), package::kMagic.data(), 8);
  const std::uint64_t header_len = text.size();
  std::memcpy(bytes.data() + 8, &header_len, 8);
  std::memcpy(bytes.data() + 16, text.data(), text.size());
  const std::uint64_t sum = package::checksum(bytes.data(), 16 + text.size());
  std::memcpy(bytes.data() + 16 + text.size(), &sum, 8);
  // A 64-bit index every 8 bytes (mixed so no chunk repeats another).
  for (std::size_t i = 0; i + 8 <= data_bytes; i += 8) {
    const std::uint64_t v = (i / 8) * 0x9E3779B97F4A7C15ull;
    std::memcpy(bytes.data() + data_offset + i, &v, 8);
  }
  std::ofstream(path, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
  return data_offset;
}

// The range of the whole data section (the checksum is not checked by blob()).
nlohmann::json whole(std::size_t bytes) { return nlohmann::json::array({std::size_t(0), bytes, "0000000000000000"}); }

// A temporary file removed however the test ends.
struct TempFile {
  std::filesystem::path path;
  explicit TempFile(const std::string& name)
      : path(std::filesystem::temp_directory_path() / (name + "_" + std::to_string(::getpid()))) {}
  ~TempFile() { std::filesystem::remove(path); }
};

TEST(PackageFileTest, CopyAcrossChunksMatchesTheFile) {
  const TempFile file("kvlm_package_copy");
  constexpr std::size_t kChunk = PackageFile::kCopyChunkBytes;
  const std::size_t data_bytes = 3 * kChunk + 4096 + 64;  // the file ends 8 KiB into its 4th chunk
  const std::size_t data_offset = write_package(file.path, data_bytes);
  std::vector<std::byte> expected(data_bytes);
  std::ifstream in(file.path, std::ios::binary);
  in.seekg(std::streamoff(data_offset));
  in.read(reinterpret_cast<char*>(expected.data()), std::streamsize(data_bytes));
  ASSERT_TRUE(in) << "cannot read back " << file.path;

  for (int threads : {1, 2, 3}) {
    ThreadPool pool(threads);
    PackageFile package(file.path);
    const auto range = whole(data_bytes);
    const Blob mapped = package.blob(range, "blob");
    ASSERT_EQ(std::memcmp(mapped.data, expected.data(), data_bytes), 0);
    package.copy_into_memory(pool);
    const Blob copied = package.blob(range, "blob");
    EXPECT_NE(copied.data, mapped.data) << "blobs still point into the mapping";
    EXPECT_EQ(std::memcmp(copied.data, expected.data(), data_bytes), 0) << threads << " threads";
    EXPECT_EQ(package.header()["data_offset"].get<std::size_t>(), data_offset);
  }
}

// A file cut short after it was opened (being replaced, a full disk): the copy
// fails with an Error that names the file, and blobs still point into the
// mapping, not into a half-filled copy.
TEST(PackageFileTest, CopyOfAFileCutShortIsAnError) {
  const TempFile file("kvlm_package_cut");
  const std::size_t data_bytes = 2 * PackageFile::kCopyChunkBytes + 4096;
  write_package(file.path, data_bytes);
  ThreadPool pool(2);
  PackageFile package(file.path);
  const Blob header = package.blob(whole(64), "blob");
  std::filesystem::resize_file(file.path, PackageFile::kCopyChunkBytes + 100);
  try {
    package.copy_into_memory(pool);
    ADD_FAILURE() << "no error for a file cut short";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(file.path.string()), std::string::npos) << e.what();
  }
  EXPECT_EQ(package.blob(whole(64), "blob").data, header.data);
}

}  // namespace
}  // namespace kvlm
