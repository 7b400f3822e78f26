// Services built on Session: translation and transcript copy-edit, the C++
// counterparts of the CoreML port's providers. Each prefills its fixed system
// prompt once, keeps that State, and starts every request from a clone of it,
// so a request prefills only its own tokens. Calls are serialised by a mutex
// (thread-safe); cancel() stops the call in flight from any thread.
#pragma once

#include <atomic>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "kvlm/session.h"

namespace kvlm {

// "kv:NAME" -> $KVLM_MODELS/NAME (or NAME.kvlm, NAME.gguf), default ~/.cache/kvlm/models;
// anything else is a path. Throws Error with install instructions when the
// model is not there.
std::filesystem::path resolve_model(const std::string& id_or_path);
// One line saying how to install Llama 3.2 1B Instruct.
std::string model_install_hint();
// The directory kv: ids resolve in.
std::filesystem::path models_dir();

struct ProviderOptions {
  LoadOptions load;             // dtype, threads, backend of Model::load
  int max_ctx = 0;              // 0: 512, as the CoreML port
  int max_new_tokens = 256;
  bool prefix_reuse = true;     // false: every request prefills from an empty State
  std::optional<std::string> date;  // "YYYY-MM-DD" for the template's date
};

struct ProviderResult {
  std::string text;
  StopReason stop_reason = StopReason::length;
  int generated_tokens = 0;  // new ids (an end-of-generation id is not counted)
  Timings timings;
};

using TextCallback = std::function<bool(std::string_view)>;

// A fixed system prompt + one user message, greedy. Shared by both providers.
class PromptedProvider {
 public:
  PromptedProvider();
  virtual ~PromptedProvider();
  // Loads the model (a path or a kv: id) with its tokenizer and template.
  void configure(const std::string& model, const ProviderOptions& options = {});
  // Uses an already loaded model, tokenizer and template.
  void configure(std::shared_ptr<const Model> model, std::shared_ptr<const Tokenizer> tokenizer,
                 std::shared_ptr<const ChatTemplate> chat_template, const ProviderOptions& options = {});
  bool configured() const;
  // Returns to the prefilled system-prompt state, dropping any other cached work.
  void resetSession();
  // Cancels the request in flight (if any); it returns what it had so far.
  void cancel() { cancel_.store(true); }

  // The rendered prompt of a request (system prompt + user text + generation prompt).
  std::string render_prompt(const std::string& system, const std::string& user) const;

  // One request with any system prompt (eval packs carry their own); the
  // prefix State is kept for the last system prompt used.
  ProviderResult respond(const std::string& system, const std::string& user, const TextCallback& on_text = nullptr);
  // Greedy completion of plain text (with the BOS), no template, no prefix reuse.
  ProviderResult complete(const std::string& text, int max_new_tokens);

 private:
  struct Impl;
  mutable std::mutex mutex_;
  std::atomic<bool> cancel_{false};
  std::unique_ptr<Impl> impl_;
};

class TranslationProvider : public PromptedProvider {
 public:
  // "You are a {target} translator. Translate the user message [from
  // {source} ]to {target}. Output only the translation." With no source it
  // is exactly the CoreML port's French prompt.
  static std::string system_prompt(const std::string& source, const std::string& target);

  std::string translate(const std::string& text, const std::string& source, const std::string& target) {
    return translate_ex(text, source, target, nullptr).text;
  }
  ProviderResult translate_ex(const std::string& text, const std::string& source, const std::string& target,
                              const TextCallback& on_text);
  std::string prompt(const std::string& text, const std::string& source, const std::string& target) const {
    return render_prompt(system_prompt(source, target), text);
  }
};

class CopyEditProvider : public PromptedProvider {
 public:
  // The system prompt of packs/postprocess.jsonl.
  static const std::string& system_prompt();

  std::string copyedit(const std::string& text) { return copyedit_ex(text, nullptr).text; }
  ProviderResult copyedit_ex(const std::string& text, const TextCallback& on_text);
  std::string prompt(const std::string& text) const { return render_prompt(system_prompt(), text); }
};

}  // namespace kvlm
