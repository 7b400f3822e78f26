// Reading a .kvlm package (layout in io/package_format.h): the mapping, the
// parsed header, and bounds-checked access to its blobs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/large_buffer.h"
#include "core/mapped_file.h"

namespace kvlm {

class ThreadPool;

struct Blob {
  const std::byte* data = nullptr;
  std::size_t bytes = 0;
};

class PackageFile {
 public:
  // Maps the file and validates magic, header checksum, version and header.
  // Throws Error ("package header is corrupt (checksum mismatch): <path>"
  // when the header's bytes differ from their checksum).
  // populate: map every page up front (MappedFile), for the weights.
  explicit PackageFile(const std::filesystem::path& path, bool populate = false);

  // Reads the whole file into huge-page anonymous memory, so that blobs
  // point there from now on (see WeightMemory for why), with the pool's
  // threads claiming kCopyChunkBytes chunks of it. Throws Error (and blobs
  // still point into the mapping).
  void copy_into_memory(ThreadPool& pool);
  static constexpr std::size_t kCopyChunkBytes = std::size_t(32) << 20;

  const nlohmann::json& header() const { return header_; }
  const std::filesystem::path& path() const { return file_.path(); }
  // The blob an [offset, bytes, checksum] range names (its bytes are not
  // hashed here); throws Error ("<path>: <what> ...") when it is malformed,
  // misaligned or outside the file.
  Blob blob(const nlohmann::json& range, const std::string& what) const;

  // The outcome of hashing every blob the header names.
  struct BlobCheck {
    std::size_t blobs = 0;
    std::uint64_t bytes = 0;
    // "tensor NAME" / "file NAME" of each blob whose bytes differ from the
    // checksum the header records, in header order.
    std::vector<std::string> corrupted;
  };
  // Hashes every carried file and tensor (the bytes blobs point at now: the
  // copy after copy_into_memory), largest first on the pool's threads.
  // Throws Error for a malformed entry, never for a mismatch.
  BlobCheck check_blobs(ThreadPool& pool) const;
  // check_blobs, throwing Error ("<path>: tensor NAME: checksum mismatch")
  // for the first corrupted blob, with the count of the others.
  void verify_blobs(ThreadPool& pool) const;
  // A carried text file (tokenizer.json, ...), or nullopt.
  std::optional<std::string_view> file(const std::string& name) const;

 private:
  MappedFile file_;
  std::optional<LargeBuffer> copy_;
  const std::byte* base_ = nullptr;  // file_.data() or copy_->data()
  nlohmann::json header_;
  std::size_t data_offset_ = 0;
};

}  // namespace kvlm
