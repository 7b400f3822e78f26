// Session: one conversation over a shared Model. It owns a State (KV cache)
// and the ids whose K/V that State holds, so a new request prefills only what
// follows the longest common prefix with them (multi-turn chat, prefix reuse).
// A Session is not thread-safe; the Model, Tokenizer and ChatTemplate it
// holds are shared and immutable.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kvlm/chat_template.h"
#include "kvlm/model.h"
#include "kvlm/sampler.h"
#include "kvlm/tokenizer.h"

namespace kvlm {

class DecodeBatcher;

// length: max_new_tokens were generated; context: the State is full (no room
// for the next token) before that.
enum class StopReason { eos, length, stop, cancelled, context };
const char* stop_reason_name(StopReason reason);  // "eos", "length", "stop", "cancelled", "context"

struct GenerateOptions {
  int max_new_tokens = 256;
  SamplingOptions sampling;
  // Stop strings; generation ends when the text contains one, which is cut
  // off with everything after it. Text that could still become a stop string
  // is held back from on_text until resolved.
  std::vector<std::string> stop;
  // End-of-generation tokens are never chosen (their logits are masked, as
  // llama.cpp's --ignore-eos does), so generation runs to max_new_tokens.
  bool ignore_eos = false;
  // Receives complete UTF-8 pieces of text as they are generated; returning
  // false cancels (StopReason::cancelled). Needs a tokenizer.
  std::function<bool(std::string_view)> on_text;
  // Receives each generated id (not an eos that stopped generation); false cancels.
  std::function<bool(std::int32_t)> on_token;
  // Checked before every step; true cancels.
  const std::atomic<bool>* cancel = nullptr;
  // Edits each step's logits [vocab] before sampling (tests, constrained output).
  std::function<void(std::span<float>)> logits_hook;
  // Decode steps go through this batcher (of the session's model), batched
  // with those of other sessions generating on other threads.
  DecodeBatcher* batcher = nullptr;
};

struct Timings {
  int prompt_tokens = 0;     // ids of the request
  int cached_tokens = 0;     // of them, already in the State (not prefilled)
  int prefill_tokens = 0;    // prompt_tokens - cached_tokens
  double prefill_ms = 0;
  double first_token_ms = 0;  // request start to the first generated id
  int decode_steps = 0;       // single-token forward calls
  double decode_ms = 0;
  double decode_ms_per_token() const { return decode_steps ? decode_ms / decode_steps : 0.0; }
};

struct GenerateResult {
  std::string text;  // empty without a tokenizer
  std::vector<std::int32_t> prompt_ids;
  std::vector<std::int32_t> generated_ids;  // an eos id that stopped generation is not included
  StopReason stop_reason = StopReason::length;
  Timings timings;
};

// Holds text back while it may be the start of a stop string; cuts at the first
// complete one. Pieces are complete UTF-8 and so is everything it releases.
class StopStringFilter {
 public:
  explicit StopStringFilter(std::vector<std::string> stops);
  // Appends `piece`; returns the text now safe to emit. After a stop string
  // was found, stopped() is true and the text before it has been returned.
  std::string push(std::string_view piece);
  // Releases what is held (generation ended without a stop string).
  std::string finish();
  bool stopped() const { return stopped_; }

 private:
  std::vector<std::string> stops_;
  std::string held_;
  bool stopped_ = false;
};

struct SessionOptions {
  int max_ctx = 0;                  // 0: the model's default (512)
  std::optional<std::string> date;  // "YYYY-MM-DD" for the template's strftime_now
  // 0: the session's forward calls take turns on the model's threads; N: it
  // has N threads of its own and runs beside other sessions (State threads).
  int threads = 0;
};

class Session {
 public:
  // `tokenizer` and `chat_template` may be null / unset for id-only use.
  Session(std::shared_ptr<const Model> model, std::shared_ptr<const Tokenizer> tokenizer,
          std::shared_ptr<const ChatTemplate> chat_template, const SessionOptions& options = {});

  // Loads model, tokenizer and template (when present) from a HF directory or
  // a .kvlm package.
  static Session open(const std::filesystem::path& model_path, const LoadOptions& load = {},
                      const SessionOptions& options = {});

  // Copies the session (State::clone(): the cache is copied).
  Session fork() const;

  // Generates after `ids`, the whole prompt: ids already in the State up to the
  // longest common prefix are reused, the State is truncated there and only
  // the rest is prefilled. After the call the State holds the prompt and every
  // generated id that was fed back (all but the last).
  GenerateResult generate_ids(std::span<const std::int32_t> ids, const GenerateOptions& options);
  // Tokenizes `text` (with the BOS) and generates.
  GenerateResult generate_text(std::string_view text, const GenerateOptions& options);
  // Renders `messages` with the chat template (and the generation prompt),
  // tokenizes without adding a BOS (the template writes it) and generates.
  GenerateResult chat(const std::vector<ChatMessage>& messages, const GenerateOptions& options);

  // Ids of a chat prompt (rendered with the generation prompt when asked).
  std::vector<std::int32_t> chat_ids(const std::vector<ChatMessage>& messages, bool add_generation_prompt) const;
  std::string render(const std::vector<ChatMessage>& messages, bool add_generation_prompt) const;
  // Prefills `ids` (reusing the common prefix) without generating.
  void prefill(std::span<const std::int32_t> ids);

  void reset();
  const std::vector<std::int32_t>& cached_ids() const { return cached_; }
  State& state() { return state_; }
  const State& state() const { return state_; }
  const Model& model() const { return *model_; }
  const std::shared_ptr<const Model>& shared_model() const { return model_; }
  const std::shared_ptr<const Tokenizer>& tokenizer() const { return tokenizer_; }
  const std::shared_ptr<const ChatTemplate>& chat_template() const { return template_; }

  // Saves / restores the State and the cached ids (a file: see State::save).
  void save(const std::filesystem::path& file) const;
  void load(const std::filesystem::path& file);

 private:
  std::shared_ptr<const Model> model_;
  std::shared_ptr<const Tokenizer> tokenizer_;
  std::shared_ptr<const ChatTemplate> template_;
  SessionOptions options_;
  State state_;
  std::vector<std::int32_t> cached_;  // the ids whose K/V are in state_
};

}  // namespace kvlm
