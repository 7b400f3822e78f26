// The bandwidth probe's read loops on every ISA against a scalar XOR of the
// buffer, and its argument checks. No timing assertions: speed is for
// `kvlm bench` to report, not for tests to judge.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "core/bandwidth.h"
#include "core/bandwidth_kernels.h"
#include "core/cpu_features.h"
#include "kvlm/error.h"

namespace kvlm {
namespace {

using ReadFn = std::uint64_t (*)(const std::byte*, std::size_t);

ReadFn read_for(Isa isa) {
  switch (isa) {
    case Isa::avx512: return bandwidth_detail::read_avx512;
    case Isa::avx2: return bandwidth_detail::read_avx2;
    case Isa::generic: break;
  }
  return bandwidth_detail::read_generic;
}

class BandwidthReadTest : public ::testing::TestWithParam<Isa> {};

TEST_P(BandwidthReadTest, ReadsEveryByte) {
  constexpr std::size_t kBytes = 64 * 1024;
  alignas(64) static std::uint64_t words[kBytes / 8];
  std::mt19937_64 rng(5);
  for (auto& w : words) w = rng();
  const auto* p = reinterpret_cast<const std::byte*>(words);
  for (const std::size_t n : {std::size_t(512), std::size_t(4096), kBytes}) {
    std::uint64_t want = 0;
    for (std::size_t i = 0; i < n / 8; ++i) want ^= words[i];
    EXPECT_EQ(read_for(GetParam())(p, n), want) << n << " bytes";
  }
  // Flipping one bit in the last block changes the result.
  const std::uint64_t before = read_for(GetParam())(p, kBytes);
  words[kBytes / 8 - 1] ^= 1;
  EXPECT_NE(read_for(GetParam())(p, kBytes), before);
}

INSTANTIATE_TEST_SUITE_P(AllIsas, BandwidthReadTest, ::testing::ValuesIn(supported_isas()),
                         [](const ::testing::TestParamInfo<Isa>& p) { return std::string(isa_name(p.param)); });

TEST(BandwidthProbe, MeasuresAPositiveRate) {
  const ReadBandwidthProbe probe(std::size_t(4) << 20, 2);
  EXPECT_EQ(probe.bytes() % 512, 0u);
  for (const int threads : {1, 2}) {
    const double gbs = probe.measure(threads, 2);
    EXPECT_TRUE(std::isfinite(gbs));
    EXPECT_GT(gbs, 0.0);
  }
}

TEST(BandwidthProbe, RejectsMoreThreadsThanBuiltFor) {
  const ReadBandwidthProbe probe(std::size_t(1) << 20, 1);
  EXPECT_THROW(probe.measure(2), Error);
  EXPECT_THROW(probe.measure(0), Error);
}

}  // namespace
}  // namespace kvlm
