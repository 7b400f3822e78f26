// Session: prompt -> prefill (reusing the cached prefix) -> sample/decode loop
// with eos, stop strings, length and cancellation; streaming UTF-8 text.
#include "kvlm/session.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fstream>
#include <limits>
#include <regex>
#include <set>

#include "kvlm/decode_batcher.h"
#include "kvlm/error.h"
#include "kvlm/model_files.h"

namespace kvlm {
namespace {

using Clock = std::chrono::steady_clock;
double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

constexpr char kTokensMagic[8] = {'K', 'V', 'L', 'M', 'T', 'O', 'K', 'S'};

}  // namespace

const char* stop_reason_name(StopReason reason) {
  switch (reason) {
    case StopReason::eos: return "eos";
    case StopReason::length: return "length";
    case StopReason::stop: return "stop";
    case StopReason::cancelled: return "cancelled";
    case StopReason::context: return "context";
  }
  return "length";
}

// --- stop strings -------------------------------------------------------------

StopStringFilter::StopStringFilter(std::vector<std::string> stops) : stops_(std::move(stops)) {
  std::erase_if(stops_, [](const std::string& s) { return s.empty(); });
}

std::string StopStringFilter::push(std::string_view piece) {
  if (stopped_) return {};
  held_.append(piece);
  // Earliest complete stop string wins.
  std::size_t cut = std::string::npos;
  for (const auto& s : stops_) cut = std::min(cut, held_.find(s));
  if (cut != std::string::npos) {
    stopped_ = true;
    std::string out = held_.substr(0, cut);
    held_.clear();
    return out;
  }
  // Hold back the longest tail that is a proper prefix of some stop string. It
  // starts at a stop string's first byte, so at a UTF-8 character boundary.
  std::size_t keep = 0;
  for (const auto& s : stops_)
    for (std::size_t k = std::min(s.size() - 1, held_.size()); k > keep; --k)
      if (held_.compare(held_.size() - k, k, s, 0, k) == 0) {
        keep = k;
        break;
      }
  std::string out = held_.substr(0, held_.size() - keep);
  held_.erase(0, held_.size() - keep);
  return out;
}

std::string StopStringFilter::finish() {
  std::string out;
  out.swap(held_);
  return stopped_ ? std::string() : out;
}

// --- session --------------------------------------------------------------------

namespace {
std::shared_ptr<const Model> non_null(std::shared_ptr<const Model> model) {
  if (!model) throw Error("a session needs a model");
  return model;
}
}  // namespace

Session::Session(std::shared_ptr<const Model> model, std::shared_ptr<const Tokenizer> tokenizer,
                 std::shared_ptr<const ChatTemplate> chat_template, const SessionOptions& options)
    : model_(non_null(std::move(model))),
      tokenizer_(std::move(tokenizer)),
      template_(std::move(chat_template)),
      options_(options),
      state_(model_->new_state(options.max_ctx, options.threads)) {}

Session Session::open(const std::filesystem::path& model_path, const LoadOptions& load, const SessionOptions& options) {
  const ModelFiles files = ModelFiles::open(model_path);
  auto model = Model::load(model_path, load);
  std::shared_ptr<const Tokenizer> tokenizer;
  if (files.has("tokenizer.json")) tokenizer = Tokenizer::load(files);
  std::shared_ptr<const ChatTemplate> tmpl;
  if (auto t = ChatTemplate::load_if_present(files)) tmpl = std::make_shared<const ChatTemplate>(std::move(*t));
  return Session(std::move(model), std::move(tokenizer), std::move(tmpl), options);
}

Session Session::fork() const {
  Session s(model_, tokenizer_, template_, options_);
  s.state_ = state_.clone();
  s.cached_ = cached_;
  return s;
}

void Session::reset() {
  state_.reset();
  cached_.clear();
}

std::string Session::render(const std::vector<ChatMessage>& messages, bool add_generation_prompt) const {
  if (!template_) throw Error("this model has no chat template (chat_template.jinja or tokenizer_config.json)");
  RenderOptions ro;
  ro.date = options_.date;
  return template_->render(messages, add_generation_prompt, ro);
}

std::vector<std::int32_t> Session::chat_ids(const std::vector<ChatMessage>& messages, bool add_generation_prompt) const {
  if (!tokenizer_) throw Error("this model has no tokenizer.json (use --ids)");
  const std::string text = render(messages, add_generation_prompt);
  // The template writes the special tokens; message text must never become
  // one. When no message contains a special token's spelling, parsing the
  // whole rendering is exact (as transformers does). Otherwise the messages'
  // text, located in order in the rendering, is encoded without parsing.
  static const std::regex special_like("<\\|[^|<>]{1,64}\\|>|<[a-z_]{1,32}>|</s>|<s>");
  bool risky = false;
  for (const auto& m : messages)
    for (auto it = std::sregex_iterator(m.content.begin(), m.content.end(), special_like); it != std::sregex_iterator(); ++it) {
      const auto id = tokenizer_->token_to_id(it->str());
      if (id && tokenizer_->is_special(*id)) risky = true;
    }
  const EncodeOptions templ{.add_special = false, .parse_special = true};
  if (!risky) return tokenizer_->encode(text, templ);
  std::vector<std::int32_t> ids;
  std::size_t pos = 0;
  auto append = [&](std::string_view part, const EncodeOptions& eo) {
    if (part.empty()) return;
    const auto piece = tokenizer_->encode(part, eo);
    ids.insert(ids.end(), piece.begin(), piece.end());
  };
  for (const auto& m : messages) {
    std::string content = m.content;
    std::size_t at = text.find(content, pos);
    if (at == std::string::npos) {  // the template trimmed it
      const auto b = content.find_first_not_of(" \t\r\n");
      const auto e = content.find_last_not_of(" \t\r\n");
      content = b == std::string::npos ? std::string() : content.substr(b, e - b + 1);
      at = content.empty() ? std::string::npos : text.find(content, pos);
    }
    if (at == std::string::npos) continue;
    append(std::string_view(text).substr(pos, at - pos), templ);
    append(content, EncodeOptions{.add_special = false, .parse_special = false});
    pos = at + content.size();
  }
  append(std::string_view(text).substr(pos), templ);
  return ids;
}

void Session::prefill(std::span<const std::int32_t> ids) {
  std::size_t common = 0;
  while (common < cached_.size() && common < ids.size() && cached_[common] == ids[common]) ++common;
  if (ids.size() > std::size_t(state_.max_ctx()))
    throw ContextOverflowError("prompt of " + std::to_string(ids.size()) + " tokens does not fit the context of " +
                               std::to_string(state_.max_ctx()));
  state_.truncate(int(common));
  cached_.resize(common);
  if (common == ids.size()) return;
  model_->forward(ids.subspan(common), state_, LogitsMode::last);
  cached_.assign(ids.begin(), ids.end());
}

GenerateResult Session::generate_ids(std::span<const std::int32_t> ids, const GenerateOptions& options) {
  if (ids.empty()) throw Error("empty prompt");
  if (!options.stop.empty() && !tokenizer_) throw Error("stop strings need a tokenizer");
  if (options.batcher && &options.batcher->model() != model_.get())
    throw Error("the decode batcher belongs to another model");
  if (ids.size() > std::size_t(state_.max_ctx()))
    throw ContextOverflowError("prompt of " + std::to_string(ids.size()) + " tokens does not fit the context of " +
                               std::to_string(state_.max_ctx()));
  const auto t0 = Clock::now();
  GenerateResult r;
  r.prompt_ids.assign(ids.begin(), ids.end());
  Sampler sampler(options.sampling);  // validates before the state changes

  // Reuse the longest common prefix, but always run at least the last prompt
  // id: its logits choose the first new token.
  std::size_t common = 0;
  while (common < cached_.size() && common + 1 < ids.size() && cached_[common] == ids[common]) ++common;
  state_.truncate(int(common));
  cached_.resize(common);
  std::vector<float> logits = model_->forward(ids.subspan(common), state_, LogitsMode::last);
  cached_.assign(ids.begin(), ids.end());
  const auto t_prefill = Clock::now();
  r.timings.prompt_tokens = int(ids.size());
  r.timings.cached_tokens = int(common);
  r.timings.prefill_tokens = int(ids.size() - common);
  r.timings.prefill_ms = ms_between(t0, t_prefill);

  const auto& eos_list = model_->generation_config().eos_token_ids;
  const std::set<std::int32_t> eos(eos_list.begin(), eos_list.end());
  std::optional<StreamingDetokenizer> detok;
  if (tokenizer_) detok.emplace(tokenizer_, /*skip_special=*/true);
  StopStringFilter stops(options.stop);
  std::vector<std::int32_t> history(ids.begin(), ids.end());
  bool cancelled = false;
  auto emit = [&](const std::string& text) {
    if (text.empty()) return;
    r.text += text;
    if (options.on_text && !options.on_text(text)) cancelled = true;
  };

  r.stop_reason = StopReason::length;
  double decode_ms = 0;
  // Joined for the whole decode loop, so the batcher waits for this session's steps.
  struct Membership {
    DecodeBatcher* batcher;
    explicit Membership(DecodeBatcher* b) : batcher(b) {
      if (batcher) batcher->join();
    }
    ~Membership() {
      if (batcher) batcher->leave();
    }
    Membership(const Membership&) = delete;
    Membership& operator=(const Membership&) = delete;
  } membership(options.batcher);
  for (int step = 0; step < options.max_new_tokens; ++step) {
    if (options.cancel && options.cancel->load()) {
      r.stop_reason = StopReason::cancelled;
      break;
    }
    if (options.logits_hook) options.logits_hook(logits);
    if (options.ignore_eos)
      for (const std::int32_t id : eos)
        if (id >= 0 && std::size_t(id) < logits.size()) logits[std::size_t(id)] = -std::numeric_limits<float>::infinity();
    const std::int32_t next = sampler.sample(logits, history);
    if (step == 0) r.timings.first_token_ms = ms_between(t0, Clock::now());
    if (!options.ignore_eos && eos.count(next)) {
      r.stop_reason = StopReason::eos;
      break;
    }
    r.generated_ids.push_back(next);
    history.push_back(next);
    if (options.on_token && !options.on_token(next)) cancelled = true;
    if (detok) emit(stops.push(detok->push(next)));
    if (stops.stopped()) {
      r.stop_reason = StopReason::stop;
      break;
    }
    if (cancelled) {
      r.stop_reason = StopReason::cancelled;
      break;
    }
    // A full context ends generation cleanly ("context"), never an overflow.
    if (step + 1 == options.max_new_tokens) break;
    if (state_.length() == state_.max_ctx()) {
      r.stop_reason = StopReason::context;
      break;
    }
    const auto t_step = Clock::now();
    if (options.batcher) {
      logits = options.batcher->decode(next, state_);
    } else {
      const std::int32_t one[1] = {next};
      logits = model_->forward(one, state_, LogitsMode::last);
    }
    cached_.push_back(next);
    decode_ms += ms_between(t_step, Clock::now());
    ++r.timings.decode_steps;
  }
  if (detok && !stops.stopped() && !cancelled) {
    emit(stops.push(detok->flush()));
    if (stops.stopped())
      r.stop_reason = StopReason::stop;
    else
      emit(stops.finish());
  }
  r.timings.decode_ms = decode_ms;
  return r;
}

GenerateResult Session::generate_text(std::string_view text, const GenerateOptions& options) {
  if (!tokenizer_) throw Error("this model has no tokenizer.json (use --ids)");
  const auto ids = tokenizer_->encode(text, EncodeOptions{.add_special = true, .parse_special = false});
  return generate_ids(ids, options);
}

GenerateResult Session::chat(const std::vector<ChatMessage>& messages, const GenerateOptions& options) {
  return generate_ids(chat_ids(messages, true), options);
}

void Session::save(const std::filesystem::path& file) const {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  if (!out) throw Error("cannot write session file " + file.string());
  state_.save(out);
  out.write(kTokensMagic, sizeof kTokensMagic);
  const std::uint32_t n = std::uint32_t(cached_.size());
  out.write(reinterpret_cast<const char*>(&n), sizeof n);
  out.write(reinterpret_cast<const char*>(cached_.data()), std::streamsize(cached_.size() * sizeof(std::int32_t)));
  out.flush();
  if (!out) throw Error("cannot write session file " + file.string());
}

void Session::load(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error("cannot open session file " + file.string());
  try {
    State s = State::load(in);
    const State expected = model_->new_state(s.max_ctx());
    const StateShape& a = s.shape();
    const StateShape& b = expected.shape();
    if (a.num_layers != b.num_layers || a.num_kv_heads != b.num_kv_heads || a.head_dim != b.head_dim ||
        s.cache_dtype() != expected.cache_dtype())
      throw Error("the saved state does not match this model's cache shape or dtype");
    char magic[8];
    std::uint32_t n = 0;
    if (!in.read(magic, 8) || std::memcmp(magic, kTokensMagic, 8) != 0 ||
        !in.read(reinterpret_cast<char*>(&n), sizeof n) || n != std::uint32_t(s.length()))
      throw Error("missing or inconsistent token list");
    std::vector<std::int32_t> ids(n);
    if (!in.read(reinterpret_cast<char*>(ids.data()), std::streamsize(n * sizeof(std::int32_t))))
      throw Error("truncated token list");
    state_ = std::move(s);
    cached_ = std::move(ids);
  } catch (const Error& e) {
    throw Error(file.string() + ": " + e.what());
  }
}

}  // namespace kvlm
