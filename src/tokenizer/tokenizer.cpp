#include "kvlm/tokenizer.h"


#include <cstring>

#include "core/read_only_file.h"
#include "io/json_file.h"
#include "gguf/gguf_file.h"
#include "kvlm/error.h"
#include "kvlm/model_files.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/huge_array.h"
#include "tokenizer/tokenizer_impl.h"
#include "tokenizer/utf8.h"

namespace kvlm {
namespace {

// Reads a file into huge pages: page faults, not copying, dominate reading
// the 9 MB Llama 3 tokenizer.json into fresh memory (or mapping it).
tok::HugeArray<char> read_whole_file(const std::filesystem::path& path) {
  const ReadOnlyFile file(path);
  tok::HugeArray<char> data(file.size());
  file.read_prefix(data.reserve_more(0), file.size());
  data.grow_by(file.size());
  return data;
}

}  // namespace

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::~Tokenizer() = default;

std::shared_ptr<const Tokenizer> Tokenizer::load(const std::filesystem::path& path) {
  if (!std::filesystem::exists(path)) throw Error("no such model directory or tokenizer.json: " + path.string());
  if (is_package_file(path) || is_gguf_file(path)) return load(ModelFiles::open(path));
  std::filesystem::path json = path, dir = path;
  if (std::filesystem::is_directory(path)) {
    json = path / "tokenizer.json";
  } else {
    dir = path.parent_path();
  }
  if (!std::filesystem::exists(json)) {
    if (std::filesystem::exists(dir / "tokenizer.model"))
      throw Error(json.string() + " not found (SentencePiece tokenizer.model files are not supported; kvlm reads tokenizer.json)");
    throw Error(json.string() + " not found");
  }
  const tok::HugeArray<char> file = read_whole_file(json);
  const std::string_view text(file.data(), file.size());
  const std::filesystem::path config_path = dir / "tokenizer_config.json";
  std::optional<std::string> config;
  if (std::filesystem::exists(config_path)) config = read_text_file(config_path);
  return std::shared_ptr<const Tokenizer>(
      new Tokenizer(parse_tokenizer(text, json.string(), config ? &*config : nullptr, config_path.string())));
}

// --- encode -----------------------------------------------------------------

void Tokenizer::Impl::encode_words(std::string_view text, bool at_input_start, std::vector<std::int32_t>& ids) const {
  std::vector<std::string_view> words;
  std::deque<std::string> storage;
  pre_tokenizer.split(text, at_input_start, words, storage);
  for (const std::string_view w : words) model->encode_word(w, ids);
}

void Tokenizer::Impl::encode_section(std::string_view text, bool at_input_start, bool parse_special,
                                     std::vector<std::int32_t>& ids) const {
  std::string normalized;
  std::string_view t = text;
  if (!normalizer.empty()) {
    normalizer.normalize(text, normalized);
    t = normalized;
  }
  if (normalized_added.empty()) {
    encode_words(t, at_input_start, ids);
    return;
  }
  std::vector<tok::Section> sections;
  normalized_added.split(t, parse_special, sections);
  for (const auto& s : sections) {
    if (s.id >= 0)
      ids.push_back(s.id);
    else
      encode_words(s.text, at_input_start && s.text.data() == t.data(), ids);
  }
}

void Tokenizer::Impl::encode(std::string_view text, const EncodeOptions& options, std::vector<std::int32_t>& ids) const {
  if (const std::size_t bad = utf8::find_invalid(text); bad != std::string_view::npos)
    throw Error("cannot tokenize: text is not valid UTF-8 (byte " + std::to_string(bad) + ")");
  if (options.add_special) ids.insert(ids.end(), post_processor.prefix.begin(), post_processor.prefix.end());
  if (raw_added.empty()) {
    if (!text.empty()) encode_section(text, true, options.parse_special, ids);
  } else {
    std::vector<tok::Section> sections;
    raw_added.split(text, options.parse_special, sections);
    for (const auto& s : sections) {
      if (s.id >= 0)
        ids.push_back(s.id);
      else
        encode_section(s.text, s.text.data() == text.data(), options.parse_special, ids);
    }
  }
  if (options.add_special) ids.insert(ids.end(), post_processor.suffix.begin(), post_processor.suffix.end());
}

std::vector<std::int32_t> Tokenizer::encode(std::string_view text, const EncodeOptions& options) const {
  std::vector<std::int32_t> ids;
  ids.reserve(text.size() / 3 + 4);
  impl_->encode(text, options, ids);
  return ids;
}

// --- decode -----------------------------------------------------------------

void Tokenizer::Impl::check_id(std::int32_t id) const {
  if (id < 0 || id >= vocab_size || !(flags[std::size_t(id)] & kPresent))
    throw Error("token id " + std::to_string(id) + " is not in the vocabulary (size " + std::to_string(vocab_size) + ")");
}

void Tokenizer::Impl::append_decoded(std::int32_t id, bool skip_special, int& strip_budget, std::string& out) const {
  check_id(id);
  if (skip_special && (flags[std::size_t(id)] & kSpecial)) return;
  std::string_view bytes = decoded(id);
  while (strip_budget > 0 && !bytes.empty() && bytes.front() == decoder.strip_char()) {
    bytes.remove_prefix(1);
    --strip_budget;
  }
  if (!bytes.empty()) strip_budget = 0;
  out.append(bytes);
}

std::string Tokenizer::decode(std::span<const std::int32_t> ids, bool skip_special) const {
  std::string bytes;
  int strip = impl_->decoder.strip_start();
  for (const std::int32_t id : ids) impl_->append_decoded(id, skip_special, strip, bytes);
  for (int k = 0; k < impl_->decoder.strip_stop() && !bytes.empty() && bytes.back() == impl_->decoder.strip_char(); ++k)
    bytes.pop_back();
  std::string text;
  text.reserve(bytes.size());
  utf8::append_lossy(bytes, text, true);
  return text;
}

// --- vocabulary -------------------------------------------------------------

int Tokenizer::vocab_size() const { return impl_->vocab_size; }

std::optional<std::int32_t> Tokenizer::token_to_id(std::string_view token) const {
  if (const auto it = impl_->added_ids.find(std::string(token)); it != impl_->added_ids.end()) return it->second;
  const std::int32_t id = impl_->model->find(token);
  return id >= 0 ? std::optional<std::int32_t>(id) : std::nullopt;
}

std::string Tokenizer::id_to_token(std::int32_t id) const {
  impl_->check_id(id);
  const std::int32_t a = impl_->added_index[std::size_t(id)];
  if (a >= 0) return impl_->added[std::size_t(a)].content;
  return std::string(impl_->model->spelling(id));
}

bool Tokenizer::is_special(std::int32_t id) const {
  return id >= 0 && id < impl_->vocab_size && (impl_->flags[std::size_t(id)] & Impl::kSpecial);
}

std::optional<std::int32_t> Tokenizer::bos_id() const { return impl_->bos; }
std::optional<std::int32_t> Tokenizer::eos_id() const { return impl_->eos; }

// --- streaming --------------------------------------------------------------

StreamingDetokenizer::StreamingDetokenizer(std::shared_ptr<const Tokenizer> tokenizer, bool skip_special)
    : tokenizer_(std::move(tokenizer)), skip_special_(skip_special) {
  if (!tokenizer_) throw Error("StreamingDetokenizer needs a tokenizer");
  reset();
}

void StreamingDetokenizer::reset() {
  pending_.clear();
  strip_budget_ = tokenizer_->impl_->decoder.strip_start();
}

std::string StreamingDetokenizer::push(std::int32_t id) {
  tokenizer_->impl_->append_decoded(id, skip_special_, strip_budget_, pending_);
  std::string out;
  const std::size_t used = utf8::append_lossy(pending_, out, false);
  pending_.erase(0, used);
  return out;
}

std::string StreamingDetokenizer::flush() {
  std::string out;
  utf8::append_lossy(pending_, out, true);
  reset();
  return out;
}

}  // namespace kvlm
