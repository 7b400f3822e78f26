// Batched decode: Model::forward_batch gives each State exactly the logits of
// its own forward() (every weight format, both architectures, States at
// different lengths and context sizes), checks everything before changing a
// State, and DecodeBatcher makes sessions on several threads generate exactly
// what they generate alone, joined steps running as one pass.
#include <gtest/gtest.h>

#include <barrier>
#include <random>
#include <thread>

#include "kvlm/decode_batcher.h"
#include "kvlm/error.h"
#include "kvlm/session.h"
#include "test_models.h"

namespace kvlm {
namespace {

std::vector<std::int32_t> random_ids(std::size_t n, std::uint32_t seed, int vocab) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> pick(4, vocab - 1);
  std::vector<std::int32_t> ids(n);
  for (auto& id : ids) id = pick(rng);
  return ids;
}

struct Case {
  std::string shape;
  DType dtype;
  Backend backend = Backend::cpu;
};

class ForwardBatchTest : public ::testing::TestWithParam<Case> {};

TEST_P(ForwardBatchTest, EachRowIsThatStatesOwnForward) {
  const Case& c = GetParam();
  LoadOptions lo;
  lo.dtype = c.dtype;
  lo.backend = c.backend;
  lo.threads = 2;
  const auto model = Model::load(testing::synth_model_dir(c.shape, DType::f32), lo);
  const int vocab = model->config().vocab_size;
  // Four conversations at lengths 1, 5, 9 and 13; one with a smaller context.
  std::vector<State> batched, alone;
  for (int i = 0; i < 4; ++i) {
    batched.push_back(model->new_state(i == 2 ? 40 : 0));
    const auto prompt = random_ids(std::size_t(1 + 4 * i), 100u + std::uint32_t(i), vocab);
    model->forward(prompt, batched.back());
    alone.push_back(batched.back().clone());
  }
  std::vector<State*> states;
  for (auto& s : batched) states.push_back(&s);
  for (int step = 0; step < 3; ++step) {
    const auto ids = random_ids(4, 200u + std::uint32_t(step), vocab);
    const std::vector<float> logits = model->forward_batch(ids, states);
    ASSERT_EQ(logits.size(), 4u * std::size_t(vocab));
    for (std::size_t i = 0; i < 4; ++i) {
      const std::int32_t one[1] = {ids[i]};
      const std::vector<float> want = model->forward(one, alone[i]);
      ASSERT_EQ(batched[i].length(), alone[i].length());
      for (std::size_t v = 0; v < std::size_t(vocab); ++v)
        ASSERT_EQ(logits[i * std::size_t(vocab) + v], want[v]) << "step " << step << " state " << i << " logit " << v;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    EveryFormat, ForwardBatchTest,
    ::testing::Values(Case{"tiny-llama", DType::f32}, Case{"tiny-llama", DType::f16}, Case{"tiny-llama", DType::bf16},
                      Case{"tiny-llama", DType::q8}, Case{"tiny-llama", DType::q4}, Case{"tiny-qwen2", DType::f16},
                      Case{"tiny-qwen2", DType::q8}, Case{"tiny-llama", DType::f32, Backend::reference}),
    [](const ::testing::TestParamInfo<Case>& p) {
      return p.param.shape.substr(5) + "_" + std::string(dtype_name(p.param.dtype)) +
             (p.param.backend == Backend::reference ? "_reference" : "");
    });

TEST(ForwardBatch, RefusesBadBatchesWithoutChangingAnyState) {
  const auto model = Model::load(testing::synth_model_dir("tiny-llama", DType::f32), {});
  State a = model->new_state(8), b = model->new_state(8);
  model->forward(random_ids(3, 1, 64), a);
  model->forward(random_ids(8, 2, 64), b);  // full
  const std::int32_t two[2] = {5, 6};
  State* full[2] = {&a, &b};
  EXPECT_THROW(model->forward_batch(two, full), ContextOverflowError);
  State* twice[2] = {&a, &a};
  EXPECT_THROW(model->forward_batch(two, twice), Error);
  const std::int32_t bad[2] = {5, model->config().vocab_size};
  State c = model->new_state(8);
  State* ac[2] = {&a, &c};
  EXPECT_THROW(model->forward_batch(bad, ac), Error);
  const std::int32_t one[1] = {5};
  EXPECT_THROW(model->forward_batch(one, ac), Error);  // 1 id, 2 states
  EXPECT_EQ(a.length(), 3);
  EXPECT_EQ(b.length(), 8);
  EXPECT_EQ(c.length(), 0);
}

TEST(DecodeBatcher, ConcurrentSessionsGenerateWhatTheyGenerateAlone) {
  const auto model = testing::tiny_q8_model();
  constexpr int kSessions = 4;
  GenerateOptions go;
  go.max_new_tokens = 24;
  go.sampling.temperature = 0.0f;
  go.ignore_eos = true;
  std::vector<std::vector<std::int32_t>> prompts, serial(kSessions), batched(kSessions);
  for (int i = 0; i < kSessions; ++i) prompts.push_back(random_ids(std::size_t(2 + 3 * i), 300u + std::uint32_t(i), 64));
  for (int i = 0; i < kSessions; ++i) {
    Session s(model, nullptr, nullptr);
    serial[std::size_t(i)] = s.generate_ids(prompts[std::size_t(i)], go).generated_ids;
  }
  // A long gather wait, so every step of the joined sessions is batched.
  DecodeBatcher batcher(model, 8, std::chrono::seconds(5));
  std::barrier start(kSessions);
  std::vector<std::thread> threads;
  for (int i = 0; i < kSessions; ++i)
    threads.emplace_back([&, i] {
      Session s(model, nullptr, nullptr);
      GenerateOptions mine = go;
      mine.batcher = &batcher;
      start.arrive_and_wait();
      batched[std::size_t(i)] = s.generate_ids(prompts[std::size_t(i)], mine).generated_ids;
    });
  for (auto& t : threads) t.join();
  for (int i = 0; i < kSessions; ++i) EXPECT_EQ(batched[std::size_t(i)], serial[std::size_t(i)]) << "session " << i;
  // How many steps share a pass depends on when the threads get a core.
  EXPECT_EQ(batcher.steps(), std::uint64_t(kSessions * (go.max_new_tokens - 1)));
  EXPECT_LE(batcher.passes(), batcher.steps());
}

TEST(DecodeBatcher, JoinedStepsRunAsOnePass) {
  const auto model = Model::load(testing::synth_model_dir("tiny-llama", DType::f32), {});
  constexpr int kThreads = 4, kSteps = 6;
  DecodeBatcher batcher(model, 8, std::chrono::seconds(30));
  std::vector<State> batched, alone;
  for (int i = 0; i < kThreads; ++i) {
    batched.push_back(model->new_state());
    model->forward(random_ids(std::size_t(2 + i), 400u + std::uint32_t(i), 64), batched.back());
    alone.push_back(batched.back().clone());
  }
  std::barrier joined(kThreads);
  std::vector<std::vector<float>> got(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i)
    threads.emplace_back([&, i] {
      batcher.join();
      joined.arrive_and_wait();  // every step waits for all four: one pass per step
      for (int step = 0; step < kSteps; ++step) got[std::size_t(i)] = batcher.decode(7 + step, batched[std::size_t(i)]);
      batcher.leave();
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(batcher.steps(), std::uint64_t(kThreads * kSteps));
  EXPECT_EQ(batcher.passes(), std::uint64_t(kSteps));
  for (int i = 0; i < kThreads; ++i) {
    std::vector<float> want;
    for (int step = 0; step < kSteps; ++step) {
      const std::int32_t one[1] = {7 + step};
      want = model->forward(one, alone[std::size_t(i)]);
    }
    EXPECT_EQ(got[std::size_t(i)], want) << "thread " << i;
  }
}

TEST(DecodeBatcher, RefusesAnotherModelsSession) {
  const auto model = Model::load(testing::synth_model_dir("tiny-llama", DType::f32), {});
  const auto other = Model::load(testing::synth_model_dir("tiny-llama", DType::f32), {});
  DecodeBatcher batcher(other);
  Session s(model, nullptr, nullptr);
  GenerateOptions go;
  go.batcher = &batcher;
  const std::int32_t prompt[2] = {5, 6};
  EXPECT_THROW(s.generate_ids(prompt, go), Error);
}

}  // namespace
}  // namespace kvlm
