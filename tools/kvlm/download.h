// One verified file download: bytes go to PATH.part (resuming what an earlier
// attempt or run left there, with an HTTP Range request), the size and
// checksum are checked, and only then is it renamed to PATH. Transient
// failures (a dropped connection, 5xx) are retried from where they stopped.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "http_client.h"
#include "download_progress.h"

namespace kvlm::cli {

struct ExpectedFile {
  std::optional<std::uint64_t> size;
  std::string sha256;         // hex: LFS files
  std::string git_blob_sha1;  // hex, when there is no sha256 (small files in git); needs `size`
};

struct DownloadJob {
  std::string url;
  std::filesystem::path path;  // the final name
  std::string name;            // as shown to the user
  ExpectedFile expected;
  int retries = 4;             // after the first attempt
};

// Describes a failed HTTP answer in one line (the hub's wording).
using FailureText = std::function<std::string(const HttpResponse&)>;

// Throws Error with one line when the file cannot be fetched or does not
// match; a mismatching .part is deleted, a cut-off one is kept for resuming.
// Returns the file's size.
std::uint64_t download_verified(const HttpClient& http, const DownloadJob& job, DownloadProgress& progress,
                                const FailureText& describe);

}  // namespace kvlm::cli
