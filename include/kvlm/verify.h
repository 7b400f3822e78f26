// Checking a .kvlm package against its checksums without loading the model
// (what `kvlm verify` does). Model::load checks the header every time and
// the blobs only with LoadOptions::verify.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace kvlm {

struct PackageVerification {
  std::size_t blobs = 0;    // blobs hashed: every tensor and carried file
  std::uint64_t bytes = 0;  // their bytes
  // "tensor NAME" or "file NAME" of each blob whose bytes differ from the
  // checksum its header records, in header order (names sorted).
  std::vector<std::string> corrupted;
  bool ok() const { return corrupted.empty(); }
};

// Hashes every blob of the package at `path` on `threads` threads (0: one
// per core). Throws Error when the file is not a package of this format
// version or its header is corrupt ("package header is corrupt (checksum
// mismatch): PATH"), never for a corrupted blob: those are in the result.
PackageVerification verify_package(const std::filesystem::path& path, int threads = 0);

}  // namespace kvlm
