#include "io/package_file.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <exception>
#include <mutex>
#include <string>

#include "core/read_only_file.h"
#include "core/thread_pool.h"
#include "io/json_file.h"
#include "io/package_format.h"
#include "kvlm/error.h"
#include "kvlm/model_files.h"

namespace kvlm {

PackageFile::PackageFile(const std::filesystem::path& path, bool populate)
    : file_(path, populate), base_(file_.data()) {
  const std::string where = path.string();
  const std::size_t size = file_.size();
  if (size < 16 || std::memcmp(file_.data(), package::kMagic.data(), 8) != 0)
    throw Error(where + ": not a .kvlm package (bad magic)");
  std::uint64_t header_len = 0;
  std::memcpy(&header_len, file_.data() + 8, 8);
  if (header_len > size - 16) throw Error(where + ": package header length exceeds the file size (truncated?)");
  header_ = parse_json(std::string(reinterpret_cast<const char*>(file_.data() + 16), header_len), where + " header");
  if (!header_.is_object() || !header_.contains("format_version") || !header_["format_version"].is_number_integer())
    throw Error(where + ": package header has no format_version");
  const int version = header_["format_version"].get<int>();
  if (version != package::kFormatVersion)
    throw Error(where + ": package format version " + std::to_string(version) + " is not supported (this kvlm reads " +
                std::to_string(package::kFormatVersion) + "); convert the model again");
  for (const char* key : {"dtype", "config", "tensors", "data_offset"})
    if (!header_.contains(key)) throw Error(where + ": package header lacks '" + key + "'");
  if (!header_["data_offset"].is_number_unsigned() || header_["data_offset"].get<std::uint64_t>() > size ||
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
  if (!range.is_array() || range.size() != 2 || !range[0].is_number_unsigned() || !range[1].is_number_unsigned())
    throw Error(where + ": malformed [offset, bytes]");
  const std::uint64_t offset = data_offset_ + range[0].get<std::uint64_t>(), bytes = range[1].get<std::uint64_t>();
  if (offset < data_offset_ || offset > file_.size() || bytes > file_.size() - offset)
    throw Error(where + ": [" + std::to_string(offset) + ", +" + std::to_string(bytes) + ") is outside the file of " +
                std::to_string(file_.size()) + " bytes (truncated?)");
  if (offset % 64 != 0) throw Error(where + ": offset " + std::to_string(offset) + " is not 64-byte aligned");
  return {base_ + offset, std::size_t(bytes)};
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
