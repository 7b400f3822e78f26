// TranslationProvider / CopyEditProvider over a Session with a cached
// system-prompt prefix (see include/kvlm/providers.h).
#include "kvlm/providers.h"

#include <cstdlib>

#include "kvlm/error.h"

namespace kvlm {
namespace {

std::string trim(std::string s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return {};
  const auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

}  // namespace

std::filesystem::path models_dir() {
  if (const char* env = std::getenv("KVLM_MODELS"); env && *env) return env;
  const char* home = std::getenv("HOME");
  return std::filesystem::path(home && *home ? home : ".") / ".cache" / "kvlm" / "models";
}

std::string model_install_hint() {
  return "install Llama 3.2 1B Instruct: kvlm pull llama-3.2-1b-instruct (a gated repository: accept its licence on "
         "huggingface.co and set HF_TOKEN), or put a Hugging Face directory of meta-llama/Llama-3.2-1B-Instruct at " +
         (models_dir() / "llama-3.2-1b-instruct").string() +
         " (or pass its path with -m), or make a package with kvlm convert HF_DIR -o " +
         (models_dir() / "llama-3.2-1b-instruct.kvlm").string() +
         " --dtype q8, or put a GGUF at " + (models_dir() / "llama-3.2-1b-instruct.gguf").string() +
         " (a real small model: scripts/fetch_smollm2.sh, then -m kv:smollm2-135m-instruct)";
}

std::filesystem::path resolve_model(const std::string& id_or_path) {
  std::error_code ec;
  if (id_or_path.rfind("kv:", 0) == 0) {
    const std::string name = id_or_path.substr(3);
    if (name.empty() || name.find('/') != std::string::npos || name == "." || name == "..")
      throw Error("invalid model id '" + id_or_path + "' (expected kv:NAME)");
    const auto dir = models_dir();
    for (const auto& candidate : {dir / name, dir / (name + ".kvlm"), dir / (name + ".gguf")})
      if (std::filesystem::exists(candidate, ec)) return candidate;
    throw Error("model " + id_or_path + " is not installed (no " + (dir / name).string() + "); " + model_install_hint());
  }
  if (id_or_path.empty()) throw Error("no model given; " + model_install_hint());
  if (!std::filesystem::exists(id_or_path, ec))
    throw Error("model not found: " + id_or_path + "; " + model_install_hint());
  return id_or_path;
}

// --- PromptedProvider -------------------------------------------------------------

struct PromptedProvider::Impl {
  std::shared_ptr<const Model> model;
  std::shared_ptr<const Tokenizer> tokenizer;
  std::shared_ptr<const ChatTemplate> chat_template;
  ProviderOptions options;
  // The system prompt whose prefix `base` holds (prefilled once per prompt).
  std::string system;
  std::optional<Session> base;

  Session fresh() const {
    SessionOptions so;
    so.max_ctx = options.max_ctx;
    so.date = options.date;
    return Session(model, tokenizer, chat_template, so);
  }

  // Prefills the ids of the system part alone: the rendering of [system]
  // without a generation prompt. A template that needs a user turn falls
  // back to the common prefix of two renderings with different user texts.
  Session& prefix_for(const std::string& sys) {
    if (base && system == sys) return *base;
    Session s = fresh();
    std::vector<std::int32_t> ids;
    try {
      ids = s.chat_ids({{"system", sys}}, false);
    } catch (const Error&) {
      const auto a = s.chat_ids({{"system", sys}, {"user", "A"}}, true);
      const auto b = s.chat_ids({{"system", sys}, {"user", "B"}}, true);
      std::size_t n = 0;
      while (n < a.size() && n < b.size() && a[n] == b[n]) ++n;
      ids.assign(a.begin(), a.begin() + std::ptrdiff_t(n));
    }
    if (!ids.empty()) s.prefill(ids);
    base.emplace(std::move(s));
    system = sys;
    return *base;
  }
};

PromptedProvider::PromptedProvider() = default;
PromptedProvider::~PromptedProvider() = default;

void PromptedProvider::configure(const std::string& model, const ProviderOptions& options) {
  const auto path = resolve_model(model);
  Session s = Session::open(path, options.load);
  if (!s.tokenizer()) throw Error(path.string() + " has no tokenizer.json");
  if (!s.chat_template()) throw Error(path.string() + " has no chat template");
  configure(s.shared_model(), s.tokenizer(), s.chat_template(), options);
}

void PromptedProvider::configure(std::shared_ptr<const Model> model, std::shared_ptr<const Tokenizer> tokenizer,
                                 std::shared_ptr<const ChatTemplate> chat_template, const ProviderOptions& options) {
  if (!model || !tokenizer || !chat_template) throw Error("provider: a model, a tokenizer and a chat template are needed");
  auto impl = std::make_unique<Impl>();
  impl->model = std::move(model);
  impl->tokenizer = std::move(tokenizer);
  impl->chat_template = std::move(chat_template);
  impl->options = options;
  std::lock_guard lock(mutex_);
  impl_ = std::move(impl);
}

bool PromptedProvider::configured() const {
  std::lock_guard lock(mutex_);
  return impl_ != nullptr;
}

void PromptedProvider::resetSession() {
  std::lock_guard lock(mutex_);
  if (!impl_) return;
  // Requests run on forks and never write into the prefix State, so the next
  // request starts from it again; only a pending cancel is cleared.
  cancel_.store(false);
}

std::string PromptedProvider::render_prompt(const std::string& system, const std::string& user) const {
  std::lock_guard lock(mutex_);
  if (!impl_) throw Error("provider: configure() was not called");
  return impl_->fresh().render({{"system", system}, {"user", user}}, true);
}

ProviderResult PromptedProvider::respond(const std::string& system, const std::string& user, const TextCallback& on_text) {
  std::lock_guard lock(mutex_);
  if (!impl_) throw Error("provider: configure() was not called");
  cancel_.store(false);
  Session s = impl_->options.prefix_reuse ? impl_->prefix_for(system).fork() : impl_->fresh();
  const auto ids = s.chat_ids({{"system", system}, {"user", user}}, true);
  GenerateOptions go;
  go.max_new_tokens = impl_->options.max_new_tokens;
  go.sampling.greedy = true;
  go.cancel = &cancel_;
  go.on_text = on_text;
  GenerateResult g = s.generate_ids(ids, go);
  ProviderResult r;
  r.text = trim(std::move(g.text));
  r.stop_reason = g.stop_reason;
  r.generated_tokens = int(g.generated_ids.size());
  r.timings = g.timings;
  return r;
}

ProviderResult PromptedProvider::complete(const std::string& text, int max_new_tokens) {
  std::lock_guard lock(mutex_);
  if (!impl_) throw Error("provider: configure() was not called");
  cancel_.store(false);
  Session s = impl_->fresh();
  GenerateOptions go;
  go.max_new_tokens = max_new_tokens;
  go.sampling.greedy = true;
  go.cancel = &cancel_;
  GenerateResult g = s.generate_text(text, go);
  ProviderResult r;
  r.text = std::move(g.text);
  r.stop_reason = g.stop_reason;
  r.generated_tokens = int(g.generated_ids.size());
  r.timings = g.timings;
  return r;
}

// --- the two services -----------------------------------------------------------------

ProviderResult TranslationProvider::translate_ex(const std::string& text, const std::string& source,
                                                 const std::string& target, const TextCallback& on_text) {
  return respond(system_prompt(source, target), text, on_text);
}

ProviderResult CopyEditProvider::copyedit_ex(const std::string& text, const TextCallback& on_text) {
  return respond(system_prompt(), text, on_text);
}

}  // namespace kvlm
