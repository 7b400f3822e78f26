// Generation: eos set, stop strings across tokens, streaming UTF-8, context-full
// length stop, prefix reuse and multi-turn reuse, State save/load, sampler seeds.
// Scenarios are forced through GenerateOptions::logits_hook on a tiny synth
// model carrying the real Llama 3 tokenizer (from the npm reference package).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>

#include "kvlm/error.h"
#include "kvlm/sampler.h"
#include "kvlm/session.h"
#include "kvlm/synth.h"
#include "model/state_access.h"
#include "tokenizer_test_util.h"

namespace kvlm {
namespace {

namespace fs = std::filesystem;

// A tiny-llama with the Llama 3 tokenizer and the three Llama 3.2 eos ids; null
// when the npm reference package is not installed.
std::shared_ptr<const Model> tiny_model(std::shared_ptr<const Tokenizer>* tokenizer) {
  static std::shared_ptr<const Model> model;
  static std::shared_ptr<const Tokenizer> tok;
  const fs::path tok_dir = testing::reference_model_dir("tokenizer-llama3_1");
  if (!fs::exists(tok_dir / "tokenizer.json")) return nullptr;
  if (!model) {
    const fs::path dir = fs::path(::testing::TempDir()) / ("kvlm-gen-" + std::to_string(::getpid()));
    SynthOptions o;
    o.shape = "tiny-llama";
    o.dtype = DType::f32;
    o.seed = 5;
    o.tokenizer_dir = tok_dir;
    o.out_dir = dir;
    synth_model(o);
    std::ofstream(dir / "generation_config.json")
        << R"({"bos_token_id": 128000, "eos_token_id": [128001, 128008, 128009], "do_sample": false})";
    LoadOptions lo;
    lo.dtype = DType::f32;
    model = Model::load(dir, lo);
    tok = Tokenizer::load(dir);
  }
  *tokenizer = tok;
  return model;
}

#define TINY_OR_SKIP(model, tok)                                          \
  std::shared_ptr<const Tokenizer> tok;                                   \
  const auto model = tiny_model(&tok);                                    \
  if (!model) GTEST_SKIP() << "npm reference tokenizer not installed (scripts/setup.sh)"

// Forces the model to emit `ids` in order (then whatever it likes).
std::function<void(std::span<float>)> force(std::vector<std::int32_t> ids) {
  auto step = std::make_shared<std::size_t>(0);
  return [ids = std::move(ids), step](std::span<float> logits) {
    if (*step < ids.size()) {
      std::fill(logits.begin(), logits.end(), -1e9f);
      logits[std::size_t(ids[*step])] = 1e9f;
    }
    ++*step;
  };
}

bool valid_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    const int n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + std::size_t(n) > s.size()) return false;
    for (int k = 1; k < n; ++k)
      if ((static_cast<unsigned char>(s[i + std::size_t(k)]) & 0xC0) != 0x80) return false;
    i += std::size_t(n);
  }
  return true;
}

const std::vector<std::int32_t> kPrompt = {128000, 9906, 11, 1268, 527, 499, 3432, 30, 358, 1097, 7060, 13};

TEST(Generation, EveryGenerationConfigEosStops) {
  TINY_OR_SKIP(model, tok);
  for (const std::int32_t eos : {128001, 128008, 128009}) {
    Session s(model, tok, nullptr);
    GenerateOptions go;
    go.max_new_tokens = 20;
    go.logits_hook = force({791, 8415, eos});
    const auto r = s.generate_ids(kPrompt, go);
    EXPECT_EQ(r.stop_reason, StopReason::eos) << eos;
    EXPECT_EQ(r.generated_ids, (std::vector<std::int32_t>{791, 8415})) << eos;
    EXPECT_EQ(r.text, "The cat");
  }
  // ignore_eos runs through, never choosing an end-of-generation token.
  Session s(model, tok, nullptr);
  GenerateOptions go;
  go.max_new_tokens = 4;
  go.ignore_eos = true;
  go.logits_hook = force({791, 128009, 8415});
  const auto r = s.generate_ids(kPrompt, go);
  EXPECT_EQ(r.stop_reason, StopReason::length);
  EXPECT_EQ(r.generated_ids.size(), 4u);
  EXPECT_EQ(r.generated_ids[0], 791);
  EXPECT_NE(r.generated_ids[1], 128009);
}

TEST(Generation, StreamingEmitsOnlyCompleteUtf8) {
  TINY_OR_SKIP(model, tok);
  const std::string text = "Grüße aus 東京 😀🎉 — naïve ĳ 𝔘𝔫𝔦";
  const auto ids = tok->encode(text, {.add_special = false});
  bool some_token_splits_a_char = false;
  for (const auto id : ids) some_token_splits_a_char |= !valid_utf8(tok->decode(std::vector<std::int32_t>{id}).c_str()) ||
                                                        tok->decode(std::vector<std::int32_t>{id}).find("\xEF\xBF\xBD") != std::string::npos;
  EXPECT_TRUE(some_token_splits_a_char) << "the test text should split a character over tokens";
  Session s(model, tok, nullptr);
  GenerateOptions go;
  go.max_new_tokens = int(ids.size());
  go.logits_hook = force(ids);
  std::vector<std::string> pieces;
  go.on_text = [&](std::string_view p) {
    pieces.emplace_back(p);
    return true;
  };
  const auto r = s.generate_ids(kPrompt, go);
  std::string joined;
  for (const auto& p : pieces) {
    EXPECT_TRUE(valid_utf8(p)) << "invalid UTF-8 piece";
    EXPECT_FALSE(p.empty());
    joined += p;
  }
  EXPECT_EQ(joined, text);
  EXPECT_EQ(r.text, text);
}

TEST(Generation, StopStringsAcrossTokensNeverLeak) {
  TINY_OR_SKIP(model, tok);
  const std::string text = "The quick brown fox jumps over the lazy dog. 東京 again";
  const auto ids = tok->encode(text, {.add_special = false});
  struct Case {
    std::vector<std::string> stops;
    std::string want;
  };
  const std::vector<Case> cases = {
      {{"fox ju"}, "The quick brown "},            // spans " fox" and " jumps"
      {{"zzz", "r the la"}, "The quick brown fox jumps ove"},
      {{"京 ag"}, "The quick brown fox jumps over the lazy dog. 東"},  // spans a split character
      {{"dog.", "quick"}, "The "},                 // the earliest wins
      {{"not there"}, text},
  };
  for (const auto& c : cases) {
    Session s(model, tok, nullptr);
    GenerateOptions go;
    go.max_new_tokens = int(ids.size());
    go.stop = c.stops;
    go.logits_hook = force(ids);
    std::string streamed;
    go.on_text = [&](std::string_view p) {
      EXPECT_TRUE(valid_utf8(p));
      streamed += p;
      return true;
    };
    const auto r = s.generate_ids(kPrompt, go);
    EXPECT_EQ(r.text, c.want) << c.stops[0];
    EXPECT_EQ(streamed, c.want) << c.stops[0];
    EXPECT_EQ(r.stop_reason, c.want == text ? StopReason::length : StopReason::stop) << c.stops[0];
  }
}

TEST(Generation, StopStringFilterHoldsBackPrefixes) {
  StopStringFilter f({"END"});
  EXPECT_EQ(f.push("abc E"), "abc ");
  EXPECT_EQ(f.push("N"), "");
  EXPECT_EQ(f.push("x"), "ENx");
  EXPECT_EQ(f.push("E"), "");
  EXPECT_EQ(f.finish(), "E");
  StopStringFilter g({"END"});
  EXPECT_EQ(g.push("aE"), "a");
  EXPECT_EQ(g.push("NDzz"), "");
  EXPECT_TRUE(g.stopped());
  EXPECT_EQ(g.finish(), "");
}

TEST(Generation, FullContextIsACleanContextStop) {
  TINY_OR_SKIP(model, tok);
  SessionOptions so;
  so.max_ctx = 16;
  Session s(model, tok, nullptr, so);
  GenerateOptions go;
  go.max_new_tokens = 100;
  go.ignore_eos = true;
  const auto r = s.generate_ids(std::span(kPrompt).first(10), go);
  EXPECT_EQ(r.stop_reason, StopReason::context);
  EXPECT_EQ(r.generated_ids.size(), 7u);  // 6 fed back fill the 16 slots, the 7th is sampled from the last
  EXPECT_EQ(s.state().length(), 16);
  EXPECT_THROW(s.generate_ids(std::vector<std::int32_t>(17, 1), go), ContextOverflowError);
  // max_new_tokens reached as the context fills: that is "length".
  s.reset();
  go.max_new_tokens = 7;
  EXPECT_EQ(s.generate_ids(std::span(kPrompt).first(10), go).stop_reason, StopReason::length);
}

TEST(Generation, PrefixReuseAndMultiTurnGiveIdenticalGreedyOutput) {
  TINY_OR_SKIP(model, tok);
  GenerateOptions go;
  go.max_new_tokens = 12;
  go.ignore_eos = true;
  Session fresh(model, tok, nullptr);
  const auto want = fresh.generate_ids(kPrompt, go);
  EXPECT_EQ(want.timings.prefill_tokens, int(kPrompt.size()));

  Session base(model, tok, nullptr);
  base.prefill(std::span(kPrompt).first(7));
  for (int rep = 0; rep < 2; ++rep) {
    Session s = base.fork();
    const auto got = s.generate_ids(kPrompt, go);
    EXPECT_EQ(got.generated_ids, want.generated_ids);
    EXPECT_EQ(got.timings.cached_tokens, 7);
    EXPECT_EQ(got.timings.prefill_tokens, int(kPrompt.size()) - 7);
  }
  EXPECT_EQ(base.state().length(), 7);  // forks never touch the prefix

  // A second turn prefills only what follows the cached ids.
  std::vector<std::int32_t> turn2 = kPrompt;
  turn2.insert(turn2.end(), want.generated_ids.begin(), want.generated_ids.end());
  turn2.insert(turn2.end(), {128009, 9906, 30});
  Session chat(model, tok, nullptr);
  chat.generate_ids(kPrompt, go);
  const auto second = chat.generate_ids(turn2, go);
  EXPECT_EQ(second.timings.cached_tokens, int(kPrompt.size() + want.generated_ids.size()) - 1);
  Session chat_fresh(model, tok, nullptr);
  EXPECT_EQ(chat_fresh.generate_ids(turn2, go).generated_ids, second.generated_ids);
}

TEST(Generation, StateSaveLoadRoundTrip) {
  TINY_OR_SKIP(model, tok);
  GenerateOptions go;
  go.max_new_tokens = 8;
  go.ignore_eos = true;
  Session a(model, tok, nullptr);
  a.prefill(kPrompt);
  const fs::path file = fs::path(::testing::TempDir()) / ("kvlm-state-" + std::to_string(::getpid()) + ".bin");
  a.save(file);
  Session b(model, tok, nullptr);
  b.load(file);
  EXPECT_EQ(b.cached_ids(), kPrompt);
  EXPECT_EQ(b.state().length(), a.state().length());
  std::vector<std::int32_t> more = kPrompt;
  more.push_back(791);
  const auto ra = a.generate_ids(more, go);
  const auto rb = b.generate_ids(more, go);
  EXPECT_EQ(rb.timings.prefill_tokens, 1);
  EXPECT_EQ(ra.generated_ids, rb.generated_ids);

  // Bare State round trip through memory keeps the used rows bit for bit.
  std::stringstream mem;
  a.state().save(mem);
  const State copy = State::load(mem);
  const auto& sh = a.state().shape();
  const std::size_t row = std::size_t(sh.head_dim) * dtype_size(a.state().cache_dtype());
  for (int l = 0; l < sh.num_layers; ++l)
    for (int h = 0; h < sh.num_kv_heads; ++h) {
      const std::size_t off = std::size_t(h) * std::size_t(sh.max_ctx) * row;
      using detail::StateAccess;
      const State& orig = a.state();
      EXPECT_EQ(std::memcmp(static_cast<const char*>(StateAccess::keys(copy, l)) + off,
                            static_cast<const char*>(StateAccess::keys(orig, l)) + off, row * std::size_t(orig.length())),
                0);
      EXPECT_EQ(std::memcmp(static_cast<const char*>(StateAccess::values(copy, l)) + off,
                            static_cast<const char*>(StateAccess::values(orig, l)) + off, row * std::size_t(orig.length())),
                0);
    }

  // Damaged files are errors, and leave the session unchanged.
  std::string bytes;
  {
    std::ifstream in(file, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  const auto write = [&](const std::string& b2) { std::ofstream(file, std::ios::binary | std::ios::trunc) << b2; };
  write("NOTSTATE" + bytes.substr(8));
  EXPECT_THROW(b.load(file), Error);
  write(bytes.substr(0, bytes.size() / 2));
  EXPECT_THROW(b.load(file), Error);
  EXPECT_EQ(b.cached_ids().size(), more.size() + 7);  // unchanged by the failed loads
  EXPECT_THROW(b.load(fs::path(::testing::TempDir()) / "does-not-exist.state"), Error);
  fs::remove(file);
}

TEST(Sampler, SeedReproducesAndTemperatureZeroIsGreedy) {
  std::vector<float> logits(50);
  for (std::size_t i = 0; i < logits.size(); ++i) logits[i] = float(std::sin(double(i) * 1.7) * 3.0);
  SamplingOptions o;
  o.greedy = false;
  o.temperature = 1.2;
  o.top_p = 0.95;
  o.seed = 42;
  const std::vector<std::int32_t> none;
  auto draw = [&](SamplingOptions opt) {
    Sampler s(opt);
    std::vector<std::int32_t> out;
    for (int i = 0; i < 64; ++i) out.push_back(s.sample(logits, none));
    return out;
  };
  EXPECT_EQ(draw(o), draw(o));
  auto other = o;
  other.seed = 43;
  EXPECT_NE(draw(o), draw(other));
  auto zero = o;
  zero.temperature = 0;
  const auto greedy = std::int32_t(std::max_element(logits.begin(), logits.end()) - logits.begin());
  for (const auto id : draw(zero)) EXPECT_EQ(id, greedy);
  EXPECT_THROW(Sampler(SamplingOptions{.top_p = 0.0}), Error);
}

// Greedy takes the first of tied maxima, with and without a repetition
// penalty (HF's: positive logits of seen ids divided, negative multiplied).
TEST(Sampler, GreedyTakesTheFirstMaximumAndAppliesThePenalty) {
  const std::vector<float> logits = {1.0f, 5.0f, 5.0f, 2.0f, -1.0f};
  SamplingOptions o;
  o.greedy = true;
  Sampler plain(o);
  EXPECT_EQ(plain.sample(logits, std::vector<std::int32_t>{1}), 1);
  o.repetition_penalty = 2.0;
  Sampler penalised(o);
  EXPECT_EQ(penalised.sample(logits, std::vector<std::int32_t>{}), 1);
  EXPECT_EQ(penalised.sample(logits, std::vector<std::int32_t>{1}), 2);
  EXPECT_EQ(penalised.sample(logits, std::vector<std::int32_t>{1, 2}), 1);  // 2.5, 2.5, 2: the first
  EXPECT_EQ(penalised.sample(logits, std::vector<std::int32_t>{1, 2, 3}), 1);  // 2.5, 2.5, 1
  EXPECT_EQ(penalised.sample(logits, std::vector<std::int32_t>{0, 1, 2, 3, 4}), 1);
}

}  // namespace
}  // namespace kvlm
