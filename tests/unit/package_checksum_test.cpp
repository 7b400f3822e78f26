// Package integrity (io/package_format.h, format 6): the XXH3-64 wrapper
// against published / python-xxhash values, the header's checksum checked at
// every open, and PackageFile::check_blobs naming exactly the blobs whose
// bytes were changed. Packages are written here byte by byte, not by the
// package writer.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "io/package_checksum.h"
#include "io/package_file.h"
#include "io/package_format.h"
#include "kvlm/error.h"

namespace kvlm {
namespace {

TEST(PackageChecksumTest, MatchesReferenceXxh3Values) {
  // XXH3-64 with seed 0, from python3-xxhash (xxh3_64_hexdigest).
  EXPECT_EQ(package::checksum_hex(package::checksum("", 0)), "2d06800538d394c2");
  EXPECT_EQ(package::checksum_hex(package::checksum("abc", 3)), "78af5f94892f3950");
  std::vector<unsigned char> long_input(256000);  // the long-input (SIMD) path
  for (std::size_t i = 0; i < long_input.size(); ++i) long_input[i] = static_cast<unsigned char>(i % 256);
  EXPECT_EQ(package::checksum_hex(package::checksum(long_input.data(), long_input.size())), "776474c39d20f9aa");
}

TEST(PackageChecksumTest, HexRoundTripsAndRejectsOtherText) {
  for (const std::uint64_t v : {std::uint64_t(0), std::uint64_t(0x78af5f94892f3950), ~std::uint64_t(0)})
    EXPECT_EQ(package::parse_checksum_hex(package::checksum_hex(v)), v);
  for (const char* bad : {"", "78af5f94892f395", "78af5f94892f39500", "78AF5F94892F3950", "78af5f94892f395g", "-8af5f94892f3950"})
    EXPECT_FALSE(package::parse_checksum_hex(bad)) << bad;
}

// A package written byte by byte: blobs at 256-byte offsets after a sealed
// header. Blobs named "file X" go under "files", "tensor X" under "tensors".
struct TestPackage {
  std::filesystem::path path;
  std::map<std::string, std::size_t> blob_at;  // file offset of each blob
  std::size_t header_end = 0;                   // 16 + header length: where its checksum lies
  std::size_t json_end = 0;                     // where the header's padding starts
  std::vector<char> bytes;

  TestPackage(const std::string& name, const std::vector<std::pair<std::string, std::string>>& blobs,
              int version = package::kFormatVersion, bool sealed = true)
      : path(std::filesystem::temp_directory_path() / (name + "_" + std::to_string(::getpid()) + ".kvlm")) {
    const std::size_t data_offset = 4096;
    nlohmann::json header = {{"format_version", version},
                             {"dtype", "f32"},
                             {"config", {{"hidden_size", 8}}},
                             {"files", nlohmann::json::object()},
                             {"tensors", nlohmann::json::object()},
                             {"data_offset", data_offset}};
    std::size_t offset = 0;
    std::vector<std::pair<std::size_t, const std::string*>> placed;
    for (const auto& [what, data] : blobs) {
      const std::string hex = package::checksum_hex(package::checksum(data.data(), data.size()));
      const nlohmann::json range = {offset, data.size(), hex};
      if (what.starts_with("file ")) header["files"][what.substr(5)] = range;
      else header["tensors"][what.substr(7)] = {{"format", "f32"}, {"shape", {data.size() / 4}}, {"data", range}};
      blob_at[what] = data_offset + offset;
      placed.push_back({data_offset + offset, &data});
      offset += (data.size() + 255) / 256 * 256;
    }
    std::string text = header.dump();
    json_end = 16 + text.size();
    text.append(data_offset - 24 - text.size(), ' ');
    header_end = 16 + text.size();
    bytes.assign(data_offset + offset, 0);
    std::memcpy(bytes.data(), package::kMagic.data(), 8);
    const std::uint64_t header_len = text.size();
    std::memcpy(bytes.data() + 8, &header_len, 8);
    std::memcpy(bytes.data() + 16, text.data(), text.size());
    const std::uint64_t sum = sealed ? package::checksum(bytes.data(), header_end) : 0;
    std::memcpy(bytes.data() + header_end, &sum, 8);
    for (const auto& [at, data] : placed) std::memcpy(bytes.data() + at, data->data(), data->size());
    write();
  }
  ~TestPackage() { std::filesystem::remove(path); }

  void write() const { std::ofstream(path, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size())); }
  // Flips the top bit of the byte at `at` in the file on disk.
  void flip(std::size_t at) {
    bytes.at(at) = char(bytes[at] ^ 0x80);
    write();
  }
};

// The message of the Error that opening `path` throws ("" when none).
std::string open_error(const std::filesystem::path& path) {
  try {
    PackageFile file(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

const std::vector<std::pair<std::string, std::string>> kBlobs = {
    {"file tokenizer.json", R"({"model": {"type": "BPE"}})"},
    {"tensor model.norm.weight", std::string(64, '\x11')},
    {"tensor model.layers.3.mlp.up_proj.weight", std::string(1000, '\x22')},
};

TEST(PackageChecksumTest, ACleanPackageHasNoCorruptedBlob) {
  const TestPackage p("kvlm_clean", kBlobs);
  ThreadPool pool(2);
  const PackageFile file(p.path);
  const PackageFile::BlobCheck check = file.check_blobs(pool);
  EXPECT_EQ(check.blobs, 3u);
  EXPECT_EQ(check.bytes, kBlobs[0].second.size() + 64 + 1000);
  EXPECT_TRUE(check.corrupted.empty());
  EXPECT_NO_THROW(file.verify_blobs(pool));
}

// Every byte of the header JSON and of its checksum, and some of its
// padding: a flipped top bit gives the one corrupt-header error (such a byte
// is never valid JSON text either, so the check must not depend on the
// parser noticing).
TEST(PackageChecksumTest, EveryHeaderByteFlipIsACorruptHeader) {
  TestPackage p("kvlm_header_flip", kBlobs);
  const std::string want = "package header is corrupt (checksum mismatch): " + p.path.string();
  for (std::size_t at = 16; at < p.header_end + 8; at += at >= p.json_end && at + 61 < p.header_end ? 61 : 1) {
    p.flip(at);
    EXPECT_EQ(open_error(p.path), want) << "byte " << at;
    p.flip(at);
  }
  EXPECT_EQ(open_error(p.path), "");
}

// A change that leaves valid JSON with the same fields (another dtype) is
// found only by the checksum.
TEST(PackageChecksumTest, AValidButChangedHeaderIsCorrupt) {
  TestPackage p("kvlm_header_edit", kBlobs);
  const auto at = std::string(p.bytes.begin(), p.bytes.end()).find("\"f32\"");
  ASSERT_NE(at, std::string::npos);
  p.bytes[at + 3] = '6';
  p.bytes[at + 2] = '1';
  p.write();
  EXPECT_EQ(open_error(p.path), "package header is corrupt (checksum mismatch): " + p.path.string());
}

// Packages of other versions (older ones have no checksum there) get the
// version's refusal, not "corrupt".
TEST(PackageChecksumTest, AnotherFormatVersionIsRefusedByVersion) {
  for (const int version : {5, package::kFormatVersion + 1}) {
    const TestPackage p("kvlm_old", kBlobs, version, /*sealed=*/false);
    const std::string error = open_error(p.path);
    EXPECT_NE(error.find("package format version " + std::to_string(version) + " is not supported"), std::string::npos)
        << error;
    EXPECT_NE(error.find("convert the model again"), std::string::npos) << error;
  }
}

TEST(PackageChecksumTest, CheckBlobsNamesEachCorruptedBlob) {
  TestPackage p("kvlm_blob_flip", kBlobs);
  p.flip(p.blob_at["tensor model.layers.3.mlp.up_proj.weight"] + 999);  // its last byte
  ThreadPool pool(2);
  {
    const PackageFile file(p.path);  // the header is intact: opening works
    const PackageFile::BlobCheck check = file.check_blobs(pool);
    EXPECT_EQ(check.corrupted, std::vector<std::string>{"tensor model.layers.3.mlp.up_proj.weight"});
    try {
      file.verify_blobs(pool);
      ADD_FAILURE() << "no error for a corrupted tensor";
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()), p.path.string() + ": tensor model.layers.3.mlp.up_proj.weight: checksum mismatch");
    }
  }
  p.flip(p.blob_at["file tokenizer.json"]);
  p.flip(p.blob_at["tensor model.norm.weight"] + 10);
  const PackageFile file(p.path);
  const std::vector<std::string> all = {"file tokenizer.json", "tensor model.layers.3.mlp.up_proj.weight",
                                        "tensor model.norm.weight"};
  EXPECT_EQ(file.check_blobs(pool).corrupted, all);
  try {
    file.verify_blobs(pool);
    ADD_FAILURE() << "no error for corrupted blobs";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("file tokenizer.json: checksum mismatch (and 2 more corrupted blobs"),
              std::string::npos)
        << e.what();
  }
  // Padding between blobs is no blob: changing it changes nothing.
  TestPackage q("kvlm_padding_flip", kBlobs);
  q.flip(q.blob_at["tensor model.norm.weight"] + 64);
  EXPECT_TRUE(PackageFile(q.path).check_blobs(pool).corrupted.empty());
}

TEST(PackageChecksumTest, ARangeWithoutAChecksumIsMalformed) {
  const TestPackage p("kvlm_range", kBlobs);
  const PackageFile file(p.path);
  for (const nlohmann::json& range : {nlohmann::json::array({0, 8}), nlohmann::json::array({0, 8, 12345}),
                                      nlohmann::json::array({0, 8, "xyz"})}) {
    try {
      file.blob(range, "tensor t");
      ADD_FAILURE() << "accepted " << range.dump();
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("tensor t: malformed [offset, bytes, checksum]"), std::string::npos)
          << e.what();
    }
  }
}

}  // namespace
}  // namespace kvlm
