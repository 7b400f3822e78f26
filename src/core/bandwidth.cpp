#include "core/bandwidth.h"

#include <algorithm>
#include <atomic>
#include <barrier>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>

#include "core/bandwidth_kernels.h"
#include "kvlm/error.h"

namespace kvlm {

namespace bandwidth_detail {

// Eight independent 64-bit lanes: GCC and Clang turn this into vector loads
// with whatever the generic target offers (SSE2 on x86-64).
std::uint64_t read_generic(const std::byte* p, std::size_t bytes) {
  std::uint64_t a[8] = {};
  for (std::size_t i = 0; i < bytes; i += 64) {
    std::uint64_t v[8];
    std::memcpy(v, p + i, sizeof v);
    for (int k = 0; k < 8; ++k) a[k] ^= v[k];
  }
  std::uint64_t x = 0;
  for (const std::uint64_t v : a) x ^= v;
  return x;
}

}  // namespace bandwidth_detail

namespace {

constexpr std::size_t kBlock = 512;  // every read loop's step divides this

using ReadFn = std::uint64_t (*)(const std::byte*, std::size_t);

ReadFn read_fn(Isa isa) {
  switch (isa) {
    case Isa::avx512: return bandwidth_detail::read_avx512;
    case Isa::avx2: return bandwidth_detail::read_avx2;
    case Isa::generic: break;
  }
  return bandwidth_detail::read_generic;
}

// Keeps the loads observable.
std::atomic<std::uint64_t> g_sink{0};

// Thread t of n owns blocks [t * blocks / n, (t + 1) * blocks / n).
void slice(std::size_t blocks, int t, int n, std::size_t& offset, std::size_t& length) {
  const std::size_t b0 = blocks * std::size_t(t) / std::size_t(n);
  const std::size_t b1 = blocks * std::size_t(t + 1) / std::size_t(n);
  offset = b0 * kBlock;
  length = (b1 - b0) * kBlock;
}

std::size_t usable_bytes(std::size_t bytes) {
  return std::max<std::size_t>(bytes, std::size_t(1) << 20) / kBlock * kBlock;
}

}  // namespace

ReadBandwidthProbe::ReadBandwidthProbe(std::size_t bytes, int threads, Isa isa)
    : buffer_(usable_bytes(bytes)), bytes_(usable_bytes(bytes)), threads_(std::max(1, threads)), isa_(isa) {
  if (int(isa) > int(detected_isa())) throw Error("bandwidth probe: ISA " + std::string(isa_name(isa)) + " not supported");
  const std::size_t blocks = bytes_ / kBlock;
  std::vector<std::thread> workers;
  for (int t = 0; t < threads_; ++t)
    workers.emplace_back([&, t] {
      std::size_t off, len;
      slice(blocks, t, threads_, off, len);
      std::memset(buffer_.data() + off, t + 1, len);
    });
  for (auto& w : workers) w.join();
}

double ReadBandwidthProbe::measure(int threads, int passes) const {
  if (threads < 1 || threads > threads_)
    throw Error("bandwidth probe: " + std::to_string(threads) + " threads asked, built for 1.." +
                std::to_string(threads_));
  passes = std::max(1, passes);
  using Clock = std::chrono::steady_clock;
  // Phase 2k stamps the start of pass k, phase 2k + 1 its end; the completion
  // step runs once every thread has arrived, before any is released.
  std::vector<Clock::time_point> stamps;
  stamps.reserve(std::size_t(2 * passes));
  auto on_phase = [&stamps]() noexcept { stamps.push_back(Clock::now()); };
  std::barrier sync(threads, on_phase);
  const ReadFn read = read_fn(isa_);
  const std::size_t blocks = bytes_ / kBlock;
  auto body = [&](int t) {
    std::size_t off, len;
    slice(blocks, t, threads, off, len);
    std::uint64_t acc = 0;
    for (int p = 0; p < passes; ++p) {
      sync.arrive_and_wait();
      acc ^= read(buffer_.data() + off, len);
      sync.arrive_and_wait();
    }
    g_sink.fetch_xor(acc, std::memory_order_relaxed);
  };
  std::vector<std::thread> workers;
  for (int t = 1; t < threads; ++t) workers.emplace_back(body, t);
  body(0);
  for (auto& w : workers) w.join();

  double best_s = 1e300;
  for (int p = 0; p < passes; ++p) {
    const double s = std::chrono::duration<double>(stamps[std::size_t(2 * p + 1)] - stamps[std::size_t(2 * p)]).count();
    best_s = std::min(best_s, s);
  }
  return double(bytes_) / best_s / 1e9;
}

double measure_read_bandwidth(int threads, std::size_t bytes, int passes) {
  const ReadBandwidthProbe probe(bytes, threads);
  return probe.measure(threads, passes);
}

}  // namespace kvlm
