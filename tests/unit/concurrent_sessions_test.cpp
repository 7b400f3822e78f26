// Sessions with threads of their own (SessionOptions::threads) run forward
// calls at the same time on one shared Model and generate exactly what they
// generate one after another on the model's threads; clones keep their threads.
#include <gtest/gtest.h>

#include <random>
#include <thread>

#include "kvlm/error.h"
#include "kvlm/session.h"
#include "test_models.h"

namespace kvlm {
namespace {

TEST(ConcurrentSessions, OwnThreadsGiveTheSerialResults) {
  const auto model = testing::tiny_q8_model();
  constexpr int kSessions = 4;
  GenerateOptions go;
  go.max_new_tokens = 20;
  go.ignore_eos = true;
  std::vector<std::vector<std::int32_t>> prompts, serial(kSessions), concurrent(kSessions);
  std::mt19937 rng(9);
  for (int i = 0; i < kSessions; ++i) {
    std::vector<std::int32_t> p(std::size_t(3 + 5 * i));
    for (auto& id : p) id = std::int32_t(4 + rng() % 60);
    prompts.push_back(p);
  }
  for (int i = 0; i < kSessions; ++i) {
    Session s(model, nullptr, nullptr);
    serial[std::size_t(i)] = s.generate_ids(prompts[std::size_t(i)], go).generated_ids;
  }
  std::vector<std::thread> threads;
  for (int i = 0; i < kSessions; ++i)
    threads.emplace_back([&, i] {
      SessionOptions so;
      so.threads = 1 + i % 2;
      Session s(model, nullptr, nullptr, so);
      // Half of each generation on a fork: the clone keeps its own threads.
      Session forked = s.fork();
      concurrent[std::size_t(i)] = forked.generate_ids(prompts[std::size_t(i)], go).generated_ids;
    });
  for (auto& t : threads) t.join();
  for (int i = 0; i < kSessions; ++i) EXPECT_EQ(concurrent[std::size_t(i)], serial[std::size_t(i)]) << "session " << i;
}

TEST(ConcurrentSessions, NegativeThreadCountIsAnError) {
  const auto model = Model::load(testing::synth_model_dir("tiny-llama", DType::f32), {});
  EXPECT_THROW(model->new_state(0, -1), Error);
}

}  // namespace
}  // namespace kvlm
