// Memory read bandwidth, measured the way a decode step reads weights: each
// thread streams its own contiguous slice of a buffer far larger than the
// caches. The result is the decode floor's denominator (bytes per token /
// bandwidth), so `kvlm bench` measures it in the same run as the model.
#pragma once

#include <cstddef>
#include <string_view>

#include "core/cpu_features.h"
#include "core/large_buffer.h"

namespace kvlm {

class ReadBandwidthProbe {
 public:
  static constexpr std::size_t kDefaultBytes = std::size_t(2) << 30;  // 2 GiB

  // Allocates `bytes` (rounded down to a multiple of 512 per slice, at least
  // 1 MiB) and first-touches it from `threads` threads, each writing the slice
  // it will later read, so its pages sit on that thread's NUMA node. The
  // loop is the best of `isa` (the CPU must support it; see selected_isa()).
  ReadBandwidthProbe(std::size_t bytes, int threads, Isa isa = selected_isa());

  // Streams the whole buffer with `threads` threads (1 <= threads <= the
  // count given at construction), each reading an equal contiguous slice;
  // returns the best of `passes` passes in GB/s (1e9 bytes per second). A
  // pass is timed from a barrier all threads leave together to the moment
  // the slowest finishes.
  double measure(int threads, int passes = 5) const;

  std::size_t bytes() const { return bytes_; }
  Isa isa() const { return isa_; }

 private:
  LargeBuffer buffer_;
  std::size_t bytes_ = 0;
  int threads_ = 1;
  Isa isa_;
};

// Convenience: one probe, one measurement.
double measure_read_bandwidth(int threads, std::size_t bytes = ReadBandwidthProbe::kDefaultBytes, int passes = 5);

}  // namespace kvlm
