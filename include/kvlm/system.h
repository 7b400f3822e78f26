// What kvlm sees of the machine: the instruction set its kernels use, the
// memory read bandwidth that bounds decode, and how a file is mapped. For
// tools that report speed against the hardware (kvlm bench, kvlm info).
#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>
#include <optional>
#include <string_view>

namespace kvlm {

// "avx512", "avx2" or "generic": the best this CPU runs, lowered by the
// KVLM_ISA environment variable when set (an unsupported value is an Error).
std::string_view kernel_isa_name();

// Memory read bandwidth measured the way a decode step reads weights: each
// thread streams its own contiguous slice of a buffer far larger than the
// caches, with the kernels' instruction set.
class BandwidthProbe {
 public:
  // Allocates `bytes` (at least 1 MiB) and first-touches it from `threads` threads.
  BandwidthProbe(std::size_t bytes, int threads);
  ~BandwidthProbe();
  BandwidthProbe(const BandwidthProbe&) = delete;
  BandwidthProbe& operator=(const BandwidthProbe&) = delete;
  // The best of `passes` reads of the whole buffer by `threads` threads (at
  // most the constructor's count), in GB/s (1e9 bytes per second).
  double measure(int threads, int passes = 5) const;
  std::size_t bytes() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// How this process maps `path`, over all its mappings of it: bytes mapped,
// and bytes the kernel maps with 2 MiB entries (a package cached in 4 KiB
// pages starts and decodes slower). nullopt where /proc/self/smaps does not say.
struct FileMapping {
  std::size_t bytes = 0;
  std::size_t huge_bytes = 0;
};
std::optional<FileMapping> file_mapping(const std::filesystem::path& path);

}  // namespace kvlm
