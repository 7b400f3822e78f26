// Shared helpers of the libFuzzer targets that go through the library's file
// loaders: a scratch directory in memory (/dev/shm) per process, input bytes
// written to a file in it, and the checks every target makes.
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>

#include "kvlm/error.h"

namespace kvlm::fuzz {

[[noreturn]] inline void fail(const char* target, const std::string& what) {
  std::fprintf(stderr, "%s: %s\n", target, what.c_str());
  std::abort();
}

inline void check(bool ok, const char* target, const std::string& what) {
  if (!ok) fail(target, what);
}

// One directory per process, removed at exit: the loaders read paths.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& name)
      : path_("/dev/shm/kvlm-" + name + "-fuzz-" + std::to_string(::getpid())) {
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline void write_file(const std::filesystem::path& path, std::string_view bytes) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) fail("fuzz", "cannot write " + path.string());
  if (!bytes.empty() && std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size()) fail("fuzz", "short write");
  std::fclose(f);
}

// docs/ERRORS.md: every kvlm::Error message is one plain, non-empty line.
inline void check_error(const Error& e, const char* target) {
  const std::string_view m = e.what();
  check(!m.empty(), target, "empty error message");
  check(m.find_first_of("\r\n") == std::string_view::npos, target, "error message of several lines: " + std::string(m));
}

// The input split in two at the first "\n#####\n" (second part empty when absent).
inline std::pair<std::string_view, std::string_view> split_input(const std::uint8_t* data, std::size_t size) {
  const std::string_view all(reinterpret_cast<const char*>(data), size);
  constexpr std::string_view kSeparator = "\n#####\n";
  const std::size_t at = all.find(kSeparator);
  if (at == std::string_view::npos) return {all, {}};
  return {all.substr(0, at), all.substr(at + kSeparator.size())};
}

}  // namespace kvlm::fuzz
