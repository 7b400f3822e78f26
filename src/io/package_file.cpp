#include "io/package_file.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <exception>
#include <mutex>
#include <string>

#include "core/read_only_file.h"
#include "core/thread_pool.h"
#include "io/json_file.h"
#include "io/package_checksum.h"
#include "io/package_format.h"
#include "kvlm/error.h"
#include "kvlm/model_files.h"

namespace kvlm {

namespace {

std::string version_refusal(const std::string& where, int version) {
  return where + ": package format version " + std::to_string(version) + " is not supported (this kvlm reads " +
         std::to_string(package::kFormatVersion) + "); convert the model again";
}

// The format_version of a header that failed its checksum, if it parses: a
// package of another version (older ones have no checksum) gets the version's
// refusal rather than being called corrupt.
std::optional<int> other_format_version(std::string_view text) {
  const nlohmann::json header = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!header.is_object() || !header.contains("format_version") || !header["format_version"].is_number_integer())
    return std::nullopt;
  const int version = header["format_version"].get<int>();
  return version == package::kFormatVersion ? std::nullopt : std::optional<int>(version);
}

}  // namespace

PackageFile::PackageFile(const std::filesystem::path& path, bool populate)
    : file_(path, populate), base_(file_.data()) {
  const std::string where = path.string();
  const std::size_t size = file_.size();
  constexpr std::size_t kFixed = package::kPrefixBytes + package::kHeaderChecksumBytes;
  if (size < kFixed || std::memcmp(file_.data(), package::kMagic.data(), 8) != 0)
    throw Error(where + ": not a .kvlm package (bad magic)");
  std::uint64_t header_len = 0;
  std::memcpy(&header_len, file_.data() + 8, 8);
  if (header_len > size - kFixed) throw Error(where + ": package header length exceeds the file size (truncated?)");
  const std::size_t header_end = package::kPrefixBytes + std::size_t(header_len);
  const std::string_view text(reinterpret_cast<const char*>(file_.data() + package::kPrefixBytes), header_len);
  std::uint64_t recorded = 0;
  std::memcpy(&recorded, file_.data() + header_end, 8);
  if (package::checksum(file_.data(), header_end) != recorded) {
    if (const auto version = other_format_version(text)) throw Error(version_refusal(where, *version));
    throw Error("package header is corrupt (checksum mismatch): " + where);
  }
  header_ = parse_json(std::string(text), where + " header");
  if (!header_.is_object() || !header_.contains("format_version") || !header_["format_version"].is_number_integer())
    throw Error(where + ": package header has no format_version");
  const int version = header_["format_version"].get<int>();
  if (version != package::kFormatVersion) throw Error(version_refusal(where, version));
  for (const char* key : {"dtype", "config", "tensors", "data_offset"})
    if (!header_.contains(key)) throw Error(where + ": package header lacks '" + key + "'");
  if (!header_["data_offset"].is_number_unsigned() || header_["data_offset"].get<std::uint64_t>() > size ||
      header_["data_offset"].get<std::uint64_t>() < header_end + package::kHeaderChecksumBytes ||
      header_["data_offset"].get<std::uint64_t>() % package::kAlignment != 0)
    throw Error(where + ": package data_offset is invalid");
  data_offset_ = std::size_t(header_["data_offset"].get<std::uint64_t>());
}

void PackageFile::copy_into_memory(ThreadPool& pool) {
  // pread, not memcpy from the mapping: the mapped pages would count in the
  // resident set too and double the peak memory.
  // Several threads, because one thread's copy out of the page cache (and the
  // clearing of each new huge page) is bound by that core, not the bus: a
  // 2.4 GB f16 package takes 270 ms with one thread, 140 ms with two (this VM).
  const std::size_t size = file_.size();
  copy_.emplace(size);
  const ReadOnlyFile file(file_.path());
  std::mutex failure_lock;
  std::exception_ptr failure;
  pool.parallel_for((size + kCopyChunkBytes - 1) / kCopyChunkBytes, 1, [&](int, std::size_t begin, std::size_t end) {
    const std::size_t from = begin * kCopyChunkBytes, to = std::min(size, end * kCopyChunkBytes);
    try {
      file.read_at(copy_->data() + from, from, to - from);
    } catch (...) {  // a pool task must not throw: keep the first error for the caller
      const std::lock_guard lock(failure_lock);
      if (!failure) failure = std::current_exception();
    }
  });
  if (failure) {
    copy_.reset();
    std::rethrow_exception(failure);
  }
  base_ = copy_->data();
}

Blob PackageFile::blob(const nlohmann::json& range, const std::string& what) const {
  const std::string where = file_.path().string() + ": " + what;
  if (!range.is_array() || range.size() != 3 || !range[0].is_number_unsigned() || !range[1].is_number_unsigned() ||
      !range[2].is_string() || !package::parse_checksum_hex(range[2].get<std::string>()))
    throw Error(where + ": malformed [offset, bytes, checksum]");
  const std::uint64_t offset = data_offset_ + range[0].get<std::uint64_t>(), bytes = range[1].get<std::uint64_t>();
  if (offset < data_offset_ || offset > file_.size() || bytes > file_.size() - offset)
    throw Error(where + ": [" + std::to_string(offset) + ", +" + std::to_string(bytes) + ") is outside the file of " +
                std::to_string(file_.size()) + " bytes (truncated?)");
  if (offset % 64 != 0) throw Error(where + ": offset " + std::to_string(offset) + " is not 64-byte aligned");
  return {base_ + offset, std::size_t(bytes)};
}

PackageFile::BlobCheck PackageFile::check_blobs(ThreadPool& pool) const {
  struct Entry {
    std::string what;
    Blob blob;
    std::uint64_t recorded;
  };
  std::vector<Entry> entries;
  auto add = [&](std::string what, const nlohmann::json& range) {
    const Blob b = blob(range, what);  // checks the range's form, so the checksum parses
    entries.push_back({std::move(what), b, *package::parse_checksum_hex(range[2].get<std::string>())});
  };
  const std::string where = file_.path().string();
  if (header_.contains("files")) {
    if (!header_["files"].is_object()) throw Error(where + ": package 'files' is not an object");
    for (const auto& [name, range] : header_["files"].items()) add("file " + name, range);
  }
  if (!header_["tensors"].is_object()) throw Error(where + ": package 'tensors' is not an object");
  for (const auto& [name, t] : header_["tensors"].items()) {
    if (!t.is_object() || !t.contains("data")) throw Error(where + ": tensor " + name + ": malformed entry");
    add("tensor " + name, t["data"]);
  }

  // Largest first, each thread claiming the next blob: the embedding matrix
  // alone is a fifth of a 1B model, so fixed slices would leave threads idle.
  std::vector<std::size_t> order(entries.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return entries[a].blob.bytes > entries[b].blob.bytes; });
  std::vector<char> bad(entries.size(), 0);
  std::atomic<std::size_t> next{0};
  pool.parallel_for(std::size_t(pool.size()), 1, [&](int, std::size_t, std::size_t) {
    for (std::size_t i; (i = next.fetch_add(1, std::memory_order_relaxed)) < order.size();) {
      const Entry& e = entries[order[i]];
      bad[order[i]] = package::checksum(e.blob.data, e.blob.bytes) != e.recorded;
    }
  });

  BlobCheck check;
  check.blobs = entries.size();
  for (std::size_t i = 0; i < entries.size(); ++i) {
    check.bytes += entries[i].blob.bytes;
    if (bad[i]) check.corrupted.push_back(entries[i].what);
  }
  return check;
}

void PackageFile::verify_blobs(ThreadPool& pool) const {
  const BlobCheck check = check_blobs(pool);
  if (check.corrupted.empty()) return;
  std::string message = file_.path().string() + ": " + check.corrupted.front() + ": checksum mismatch";
  if (check.corrupted.size() > 1)
    message += " (and " + std::to_string(check.corrupted.size() - 1) + " more corrupted blobs; kvlm verify lists them)";
  throw Error(message);
}

std::optional<std::string_view> PackageFile::file(const std::string& name) const {
  if (!header_.contains("files") || !header_["files"].contains(name)) return std::nullopt;
  const Blob b = blob(header_["files"][name], "file " + name);
  return std::string_view(reinterpret_cast<const char*>(b.data), b.bytes);
}

bool is_package_file(const std::filesystem::path& path) {
  return file_starts_with(path, package::kMagic);
}

}  // namespace kvlm
