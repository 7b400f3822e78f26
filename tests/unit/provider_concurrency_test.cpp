// A provider called from several threads at once (its calls serialise on its
// mutex) gives each call exactly the output the same call gives serially,
// while another thread cancels one call in flight: that call ends as
// "cancelled" with a prefix of its serial output, and the provider works
// again afterwards. Two providers sharing one Model run side by side the
// same way. scripts/sanitize.sh runs these under TSan.
#include <gtest/gtest.h>

#include <unistd.h>

#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "kvlm/providers.h"
#include "kvlm/synth.h"
#include "tokenizer_test_util.h"

namespace kvlm {
namespace {

namespace fs = std::filesystem;

// A tiny-llama with the real Llama 3 tokenizer and the Llama 3.2 template
// (the script tests' tiny chat model); empty when the npm reference
// tokenizer is not installed.
fs::path tiny_chat_model_dir() {
  static fs::path dir;
  const fs::path tok_dir = testing::reference_model_dir("tokenizer-llama3_1");
  if (!fs::exists(tok_dir / "tokenizer.json")) return {};
  if (dir.empty()) {
    const fs::path d = fs::path(::testing::TempDir()) / ("kvlm-provider-" + std::to_string(::getpid()));
    SynthOptions o;
    o.shape = "tiny-llama";
    o.dtype = DType::f32;
    o.seed = 3;
    o.tokenizer_dir = tok_dir;
    o.out_dir = d;
    synth_model(o);
    const fs::path llama32 = fs::path(KVLM_SOURCE_DIR) / "data" / "llama-3.2-1b-instruct";
    for (const char* name : {"chat_template.jinja", "tokenizer_config.json", "generation_config.json"})
      fs::copy_file(llama32 / name, d / name, fs::copy_options::overwrite_existing);
    dir = d;
  }
  return dir;
}

ProviderOptions options() {
  ProviderOptions po;
  po.load.dtype = DType::q8;
  po.load.threads = 2;
  po.max_new_tokens = 12;
  po.date = "2026-01-01";
  return po;
}

struct Request {
  std::string text, target;
};

const std::vector<Request>& requests() {
  // Two targets, so the prefix State switches system prompts in whatever
  // order the threads arrive.
  static const std::vector<Request> r = {{"Hello, world.", "French"},  {"The cat sat on the mat.", "German"},
                                         {"Good morning!", "French"},  {"Where is the station?", "German"},
                                         {"I like tea.", "French"},    {"It is raining today.", "German"},
                                         {"Thank you very much.", "French"}, {"See you tomorrow.", "German"}};
  return r;
}

// A result and the text it streamed.
struct Outcome {
  ProviderResult result;
  std::string streamed;
  int pieces = 0;
};

Outcome translate(TranslationProvider& p, const Request& r, const TextCallback& extra = nullptr) {
  Outcome o;
  o.result = p.translate_ex(r.text, "", r.target, [&](std::string_view piece) {
    o.streamed += piece;
    ++o.pieces;
    return extra ? extra(piece) : true;
  });
  return o;
}

// Stops one call in flight from another thread: at the call's second text
// piece, the generating thread wakes the canceller and waits until it has
// called cancel(), so the cancel lands mid-call on every run.
class Canceller {
 public:
  explicit Canceller(PromptedProvider& p) : thread_([this, &p] {
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [this] { return started_ || abandoned_; });
    if (!started_) return;
    p.cancel();
    cancelled_ = true;
    cv_.notify_all();
  }) {}
  ~Canceller() {
    {
      std::lock_guard lock(mutex_);
      abandoned_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  // The cancelled call's on_text.
  bool on_text(std::string_view piece) {
    if (++pieces_ > 2) return true;
    streamed_at_cancel += piece;
    if (pieces_ < 2) return true;
    std::unique_lock lock(mutex_);
    started_ = true;
    cv_.notify_all();
    cv_.wait(lock, [this] { return cancelled_; });
    return true;  // the cancel flag, not the callback, stops the call
  }
  std::string streamed_at_cancel;  // the pieces up to the cancel

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool started_ = false, cancelled_ = false, abandoned_ = false;
  int pieces_ = 0;  // touched only by the cancelled call's thread
  std::thread thread_;
};

TEST(ProviderConcurrency, ThreadsGiveTheSerialOutputsAndCancelStopsOneCall) {
  const fs::path dir = tiny_chat_model_dir();
  if (dir.empty()) GTEST_SKIP() << "npm reference tokenizer not installed (scripts/setup.sh)";
  TranslationProvider provider;
  provider.configure(dir.string(), options());

  const auto& reqs = requests();
  std::vector<Outcome> serial;
  for (const auto& r : reqs) serial.push_back(translate(provider, r));
  constexpr std::size_t kCancelled = 3;
  // The call to cancel must go on past its second piece, or the cancel would not land mid-call.
  ASSERT_GE(serial[kCancelled].pieces, 4) << "the tiny model ended the call early";
  ASSERT_GE(serial[kCancelled].result.generated_tokens, 4) << "the tiny model ended the call early";

  constexpr int kThreads = 4;
  std::vector<Outcome> concurrent(reqs.size());
  std::string streamed_at_cancel;
  {
    Canceller canceller(provider);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
      threads.emplace_back([&, t] {
        for (std::size_t i = std::size_t(t); i < reqs.size(); i += kThreads) {
          if (i == kCancelled)
            concurrent[i] = translate(provider, reqs[i], [&](std::string_view s) { return canceller.on_text(s); });
          else
            concurrent[i] = translate(provider, reqs[i]);
        }
      });
    for (auto& t : threads) t.join();
    streamed_at_cancel = canceller.streamed_at_cancel;
  }

  for (std::size_t i = 0; i < reqs.size(); ++i) {
    if (i == kCancelled) continue;
    EXPECT_EQ(concurrent[i].result.text, serial[i].result.text) << "request " << i;
    EXPECT_EQ(concurrent[i].streamed, serial[i].streamed) << "request " << i;
    EXPECT_EQ(concurrent[i].result.stop_reason, serial[i].result.stop_reason) << "request " << i;
    EXPECT_EQ(concurrent[i].result.generated_tokens, serial[i].result.generated_tokens) << "request " << i;
  }
  const Outcome& c = concurrent[kCancelled];
  EXPECT_EQ(c.result.stop_reason, StopReason::cancelled);
  EXPECT_LT(c.result.generated_tokens, serial[kCancelled].result.generated_tokens);
  EXPECT_GE(c.result.generated_tokens, 2);
  // What it streamed before the cancel, all it streamed and the text it
  // returned are starts of the serial call's: the same greedy tokens, cut short.
  EXPECT_FALSE(streamed_at_cancel.empty());
  EXPECT_TRUE(serial[kCancelled].streamed.starts_with(streamed_at_cancel))
      << "streamed '" << streamed_at_cancel << "' before the cancel, serial '" << serial[kCancelled].streamed << "'";
  EXPECT_TRUE(serial[kCancelled].streamed.starts_with(c.streamed))
      << "streamed '" << c.streamed << "', serial '" << serial[kCancelled].streamed << "'";
  EXPECT_TRUE(serial[kCancelled].result.text.starts_with(c.result.text))
      << "returned '" << c.result.text << "', serial '" << serial[kCancelled].result.text << "'";

  // After the cancel the provider answers as before.
  const Outcome again = translate(provider, reqs[kCancelled]);
  EXPECT_EQ(again.result.text, serial[kCancelled].result.text);
  EXPECT_EQ(again.result.stop_reason, serial[kCancelled].result.stop_reason);
}

TEST(ProviderConcurrency, TwoProvidersOnOneModelGiveTheSerialOutputs) {
  const fs::path dir = tiny_chat_model_dir();
  if (dir.empty()) GTEST_SKIP() << "npm reference tokenizer not installed (scripts/setup.sh)";
  // Both use one loaded model, tokenizer and template.
  const Session s = Session::open(dir, options().load);
  TranslationProvider translator;
  translator.configure(s.shared_model(), s.tokenizer(), s.chat_template(), options());
  CopyEditProvider editor;
  editor.configure(s.shared_model(), s.tokenizer(), s.chat_template(), options());

  const auto& reqs = requests();
  std::vector<std::string> serial_t, serial_e;
  for (const auto& r : reqs) {
    serial_t.push_back(translator.translate(r.text, "", r.target));
    serial_e.push_back(editor.copyedit(r.text));
  }
  std::vector<std::string> concurrent_t(reqs.size()), concurrent_e(reqs.size());
  std::thread a([&] {
    for (std::size_t i = 0; i < reqs.size(); ++i) concurrent_t[i] = translator.translate(reqs[i].text, "", reqs[i].target);
  });
  std::thread b([&] {
    for (std::size_t i = 0; i < reqs.size(); ++i) concurrent_e[i] = editor.copyedit(reqs[i].text);
  });
  a.join();
  b.join();
  EXPECT_EQ(concurrent_t, serial_t);
  EXPECT_EQ(concurrent_e, serial_e);
}

}  // namespace
}  // namespace kvlm
