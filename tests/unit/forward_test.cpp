// The forward pass against itself under different schedules: prefill versus
// one-token steps versus arbitrary chunkings (this is what catches a
// bidirectional prefill mask), the cpu path against the reference path on
// every ISA, and context overflow.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <numeric>
#include <random>

#include "core/cpu_features.h"
#include "kvlm/error.h"
#include "kvlm/model.h"
#include "test_models.h"

namespace kvlm {
namespace {

std::vector<std::int32_t> random_ids(std::size_t n, int vocab, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> dist(0, vocab - 1);
  std::vector<std::int32_t> ids(n);
  for (auto& id : ids) id = dist(rng);
  return ids;
}

// Logits for `ids` fed in chunks of the given sizes (the last size repeats).
std::vector<float> logits_in_chunks(const Model& model, State& state, const std::vector<std::int32_t>& ids,
                                    const std::vector<std::size_t>& chunks) {
  std::vector<float> all;
  std::size_t at = 0, c = 0;
  while (at < ids.size()) {
    const std::size_t n = std::min(chunks[std::min(c++, chunks.size() - 1)], ids.size() - at);
    const auto part = model.forward(std::span(ids).subspan(at, n), state, LogitsMode::all);
    all.insert(all.end(), part.begin(), part.end());
    at += n;
  }
  return all;
}

double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  double worst = 0;
  for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i) worst = std::max(worst, double(std::fabs(a[i] - b[i])));
  return worst;
}

struct Case {
  const char* shape;
  DType weights;
  DType compute;
};

class ForwardTest : public ::testing::TestWithParam<Case> {
 protected:
  std::shared_ptr<const Model> load(Backend backend = Backend::cpu, int threads = 2) const {
    LoadOptions o;
    o.dtype = GetParam().compute;
    o.backend = backend;
    o.threads = threads;
    return Model::load(testing::synth_model_dir(GetParam().shape, GetParam().weights), o);
  }
};

TEST_P(ForwardTest, PrefillEqualsIncrementalDecodingUpTo512) {
  const auto model = load();
  const auto ids = random_ids(512, model->config().vocab_size, 3);
  State full = model->new_state(512);
  const auto prefill = logits_in_chunks(*model, full, ids, {512});
  EXPECT_EQ(full.length(), 512);
  for (const std::vector<std::size_t>& chunks :
       std::vector<std::vector<std::size_t>>{{1}, {7, 13, 492}, {64}, {5, 1, 100, 3}, {511, 1}}) {
    State s = model->new_state(512);
    const auto got = logits_in_chunks(*model, s, ids, chunks);
    // The same kernels reduce every output in the same order whatever the
    // batch, so the schedules agree to the last bit.
    EXPECT_EQ(max_abs_diff(got, prefill), 0.0) << "chunks starting " << chunks[0];
  }
}

TEST_P(ForwardTest, LogitsAreCausal) {
  // Changing a later token must not change an earlier position's logits.
  const auto model = load();
  auto ids = random_ids(40, model->config().vocab_size, 5);
  State a = model->new_state(), b = model->new_state();
  const auto la = model->forward(ids, a, LogitsMode::all);
  ids[30] = (ids[30] + 1) % model->config().vocab_size;
  const auto lb = model->forward(ids, b, LogitsMode::all);
  const std::size_t V = std::size_t(model->config().vocab_size);
  for (std::size_t i = 0; i < 30 * V; ++i) ASSERT_EQ(la[i], lb[i]) << "position " << i / V;
  EXPECT_NE(max_abs_diff(std::vector<float>(la.begin() + 30 * V, la.end()), std::vector<float>(lb.begin() + 30 * V, lb.end())), 0.0);
}

TEST_P(ForwardTest, CpuMatchesReferenceOnEveryIsa) {
  const auto ids = random_ids(24, 512, 9);
  const auto reference = load(Backend::reference);
  State rs = reference->new_state();
  const auto want = reference->forward(ids, rs, LogitsMode::all);
  double scale = 0;
  for (float v : want) scale = std::max(scale, double(std::fabs(v)));
  for (const Isa isa : supported_isas()) {
    ::setenv("KVLM_ISA", std::string(isa_name(isa)).c_str(), 1);
    const auto model = load(Backend::cpu, 2);
    ::unsetenv("KVLM_ISA");
    State s = model->new_state();
    const auto got = logits_in_chunks(*model, s, ids, {10, 1, 13});
    // Both paths read the same weights and cache dtype; only summation order
    // differs (double sums in the reference), so f32 agrees to ~1e-6 relative.
    // With an f16 cache that last-bit difference can flip the rounding of a
    // cached K/V element by one f16 ulp (2^-11 relative), so allow 5e-4 there.
    // Quantized weights multiply int8 activations (one scale per token): an
    // ulp of difference upstream can move one activation across a rounding
    // boundary, a whole quantum (absmax / 127) that the following layers
    // carry to the logits (seen: 0.09 of a max logit of 3.3). The kernels
    // themselves are checked exactly in kernels_test.cpp; here 5% still
    // catches any layout or scale error, which is O(1).
    // bf16 weights multiply bf16-rounded activations (8 significant bits), so
    // an ulp upstream can flip one activation by 2^-8 relative (seen: 0.017
    // of a max logit of 3.3 on generic and AVX2, whose f32 sums differ from
    // the reference's double ones; AVX-512 matched to 2e-7): 2e-2 there.
    const DType compute = GetParam().compute;
    const double bound = compute == DType::f32    ? 2e-5
                         : compute == DType::bf16 ? 2e-2
                         : is_quantized(compute)  ? 5e-2
                                                  : 5e-4;
    EXPECT_LE(max_abs_diff(got, want), bound * std::max(1.0, scale)) << isa_name(isa);
  }
}

// Prefill and then a decode step; 5 threads is more than a decode step's 2
// (token, KV head) pairs, so attention cuts each group into slices of heads.
TEST_P(ForwardTest, ThreadCountDoesNotChangeResults) {
  const auto ids = random_ids(33, 512, 4);
  const std::vector<std::int32_t> next = {7};
  std::vector<float> first, first_step;
  for (int threads : {1, 2, 3, 5}) {
    const auto model = load(Backend::cpu, threads);
    State s = model->new_state();
    const auto got = model->forward(ids, s, LogitsMode::all);
    const auto step = model->forward(next, s, LogitsMode::last);
    if (first.empty()) first = got, first_step = step;
    EXPECT_EQ(max_abs_diff(got, first), 0.0) << threads << " threads";
    EXPECT_EQ(max_abs_diff(step, first_step), 0.0) << threads << " threads, decode step";
  }
}

TEST_P(ForwardTest, ExactlyMaxCtxFitsAndOverflowLeavesStateUsable) {
  const auto model = load();
  const int max_ctx = 48;
  const auto ids = random_ids(std::size_t(max_ctx) + 1, model->config().vocab_size, 6);
  State s = model->new_state(max_ctx);
  model->forward(std::span(ids).first(std::size_t(max_ctx) - 1), s);
  EXPECT_EQ(s.length(), max_ctx - 1);
  // One more than fits: error, state unchanged.
  EXPECT_THROW(model->forward(std::span(ids).subspan(std::size_t(max_ctx) - 1, 2), s), ContextOverflowError);
  EXPECT_EQ(s.length(), max_ctx - 1);
  // The state still decodes correctly: the last fitting token gives the same
  // logits as a fresh run of all max_ctx tokens.
  const auto last = model->forward(std::span(ids).subspan(std::size_t(max_ctx) - 1, 1), s);
  EXPECT_EQ(s.length(), max_ctx);
  State fresh = model->new_state(max_ctx);
  const auto want = model->forward(std::span(ids).first(std::size_t(max_ctx)), fresh);
  EXPECT_EQ(max_abs_diff(last, want), 0.0);
  // A full state refuses even one token, and stays full.
  EXPECT_THROW(model->forward(std::span(ids).first(1), s), ContextOverflowError);
  EXPECT_EQ(s.length(), max_ctx);
}

TEST_P(ForwardTest, BadIdsAndStatesAreErrorsThatChangeNothing) {
  const auto model = load();
  State s = model->new_state();
  const std::vector<std::int32_t> bad = {1, model->config().vocab_size};
  EXPECT_THROW(model->forward(bad, s), Error);
  const std::vector<std::int32_t> negative = {-1};
  EXPECT_THROW(model->forward(negative, s), Error);
  EXPECT_THROW(model->forward(std::span<const std::int32_t>(), s), Error);
  EXPECT_EQ(s.length(), 0);
  EXPECT_THROW(model->new_state(model->config().max_position_embeddings + 1), Error);
  EXPECT_THROW(model->new_state(-5), Error);
}

TEST_P(ForwardTest, TruncateRewindsAndCloneForks) {
  const auto model = load();
  const auto ids = random_ids(20, model->config().vocab_size, 8);
  State s = model->new_state();
  model->forward(std::span(ids).first(12), s);
  State fork = s.clone();
  const auto a = model->forward(std::span(ids).subspan(12, 8), s, LogitsMode::all);
  const auto b = model->forward(std::span(ids).subspan(12, 8), fork, LogitsMode::all);
  EXPECT_EQ(max_abs_diff(a, b), 0.0);
  s.truncate(12);
  const auto c = model->forward(std::span(ids).subspan(12, 8), s, LogitsMode::all);
  EXPECT_EQ(max_abs_diff(a, c), 0.0);
  EXPECT_THROW(s.truncate(21), Error);
}

INSTANTIATE_TEST_SUITE_P(Models, ForwardTest,
                         ::testing::Values(Case{"tiny-llama", DType::f32, DType::f32},
                                           Case{"tiny-llama", DType::bf16, DType::f16},
                                           Case{"tiny-llama", DType::bf16, DType::bf16},
                                           Case{"tiny-qwen2", DType::f32, DType::f32},
                                           Case{"tiny-qwen2", DType::f16, DType::f16},
                                           Case{"tiny-llama", DType::bf16, DType::q8},
                                           Case{"tiny-llama", DType::bf16, DType::q4},
                                           Case{"tiny-qwen2", DType::f32, DType::q4}),
                         [](const auto& p) {
                           return std::string(p.param.shape == std::string("tiny-llama") ? "llama" : "qwen2") + "_" +
                                  std::string(dtype_name(p.param.weights)) + "_as_" +
                                  std::string(dtype_name(p.param.compute));
                         });

}  // namespace
}  // namespace kvlm
