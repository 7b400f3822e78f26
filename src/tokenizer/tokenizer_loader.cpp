// Loading tokenizer.json: a targeted scan of model.vocab / model.merges (the
// bulk of the file) and nlohmann::json for every other, small, section.
#include <cstdio>
#include <cstring>

#include "io/json_file.h"
#include "kvlm/error.h"
#include "kvlm/model_files.h"
#include "tokenizer/json_scan.h"
#include "tokenizer/tokenizer_impl.h"

namespace kvlm {
namespace {

using tok::JsonScanner;

nlohmann::json parse_span(std::string_view span, const std::string& source, const std::string& key) {
  try {
    return nlohmann::json::parse(span);
  } catch (const nlohmann::json::exception& e) {
    std::string what = e.what();
    if (const auto pos = what.find("] "); pos != std::string::npos) what = what.substr(pos + 2);
    throw Error(source + ": malformed JSON in \"" + key + "\": " + what);
  }
}

struct ModelSection {
  tok::BpeSource bpe;
  std::string type = "BPE";
};

// The vocab and merges tables are sized by the file length (each entry takes
// at least 4 bytes of JSON, and decoded strings are never longer than their
// JSON), reserved as address space and only touched as they fill.
void scan_vocab(JsonScanner& s, tok::BpeSource& bpe, std::size_t file_size) {
  bpe.vocab_blob = tok::HugeArray<char>(file_size);
  bpe.vocab = tok::HugeArray<tok::BpeSource::Entry>(file_size / 4 + 1);
  bool first = true;
  s.expect('{');
  for (;;) {
    if (s.accept('}')) break;
    if (!first) s.expect(',');
    first = false;
    // Keys are decoded straight into the blob.
    const std::size_t start = bpe.vocab_blob.size();
    const std::size_t length = s.read_string(bpe.vocab_blob.reserve_more(0));
    bpe.vocab_blob.grow_by(length);
    s.expect(':');
    const std::int64_t id = s.read_integer();
    if (id < 0 || id >= tok::kTokenIdLimit) s.fail("vocab id out of range");
    bpe.vocab.push_back({static_cast<std::uint32_t>(start), static_cast<std::uint32_t>(length),
                         static_cast<std::int32_t>(id)});
  }
}

void scan_merges(JsonScanner& s, tok::BpeSource& bpe, std::size_t file_size) {
  bpe.merge_blob = tok::HugeArray<char>(file_size);
  bpe.merges = tok::HugeArray<tok::BpeSource::MergeItem>(file_size / 4 + 1);
  auto& blob = bpe.merge_blob;
  bool first = true;
  s.expect('[');
  while (s.next_element(first)) {
    const std::size_t start = blob.size();
    std::size_t left_length = 0, total = 0;
    if (s.peek() == '[') {  // tokenizers >= 0.20: ["left", "right"]
      s.expect('[');
      left_length = s.read_string(blob.reserve_more(0));
      blob.grow_by(left_length);
      s.expect(',');
      const std::size_t right_length = s.read_string(blob.reserve_more(0));
      blob.grow_by(right_length);
      s.expect(']');
      total = left_length + right_length;
    } else {  // "left right": drop the space
      char* p = blob.reserve_more(0);
      const std::size_t n = s.read_string(p);
      const char* space = static_cast<const char*>(std::memchr(p, ' ', n));
      if (space == nullptr) s.fail("merge \"" + std::string(p, n) + "\" is not two space-separated tokens");
      left_length = static_cast<std::size_t>(space - p);
      std::memmove(p + left_length, p + left_length + 1, n - left_length - 1);
      total = n - 1;
      blob.grow_by(total);
    }
    bpe.merges.push_back({static_cast<std::uint32_t>(start), static_cast<std::uint32_t>(left_length),
                          static_cast<std::uint32_t>(total - left_length)});
  }
}

ModelSection scan_model(JsonScanner& s, const std::string& source, std::size_t file_size) {
  ModelSection m;
  std::string key;
  bool first = true;
  s.expect('{');
  while (s.next_key(key, first)) {
    if (key == "vocab" && s.peek() == '{') {
      scan_vocab(s, m.bpe, file_size);
    } else if (key == "merges" && s.peek() == '[') {
      scan_merges(s, m.bpe, file_size);
    } else {
      const nlohmann::json v = parse_span(s.skip_value(), source, "model." + key);
      if (key == "type") {
        if (!v.is_string()) throw Error(source + ": model.type is not a string");
        m.type = v.get<std::string>();
      } else if (key == "unk_token") {
        m.bpe.has_unk = v.is_string();
        if (v.is_string()) m.bpe.unk_token = v.get<std::string>();
      } else if (key == "byte_fallback") {
        m.bpe.byte_fallback = v.is_boolean() && v.get<bool>();
      } else if (key == "fuse_unk") {
        m.bpe.fuse_unk = v.is_boolean() && v.get<bool>();
      } else if (key == "ignore_merges") {
        m.bpe.ignore_merges = v.is_boolean() && v.get<bool>();
      } else if (key == "continuing_subword_prefix" || key == "end_of_word_suffix") {
        if (v.is_string() && !v.get<std::string>().empty())
          throw Error(source + ": unsupported model." + key + " \"" + v.get<std::string>() + "\"");
      }
    }
  }
  return m;
}

std::optional<std::string> config_token(const nlohmann::json& config, const char* key) {
  if (!config.contains(key)) return std::nullopt;
  const auto& v = config[key];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content") && v["content"].is_string()) return v["content"].get<std::string>();
  return std::nullopt;
}

std::unique_ptr<Tokenizer::Impl> parse_sections(std::string_view text, const std::string& source,
                                                 const std::string* config_json, const std::string& config_source) {
  auto impl = std::make_unique<Tokenizer::Impl>();
  impl->source = source;
  JsonScanner s(text, source);
  nlohmann::json normalizer, pre_tokenizer, post_processor, decoder, added_tokens;
  std::optional<ModelSection> model;
  std::string key;
  bool first = true;
  s.expect('{');
  while (s.next_key(key, first)) {
    if (key == "model") {
      if (s.peek() != '{') s.fail("\"model\" is not an object");
      model = scan_model(s, source, text.size());
    } else if (key == "normalizer") {
      normalizer = parse_span(s.skip_value(), source, key);
    } else if (key == "pre_tokenizer") {
      pre_tokenizer = parse_span(s.skip_value(), source, key);
    } else if (key == "post_processor") {
      post_processor = parse_span(s.skip_value(), source, key);
    } else if (key == "decoder") {
      decoder = parse_span(s.skip_value(), source, key);
    } else if (key == "added_tokens") {
      added_tokens = parse_span(s.skip_value(), source, key);
    } else {
      s.skip_value();
    }
  }
  if (!model) throw Error(source + ": no \"model\" section");
  if (model->type != "BPE") throw Error(source + ": unsupported model type \"" + model->type + "\" (kvlm reads BPE tokenizers)");
  if (model->bpe.vocab.empty()) throw Error(source + ": model.vocab is empty");

  try {
    impl->normalizer = tok::Normalizer::from_json(normalizer, source);
    impl->pre_tokenizer = tok::PreTokenizer::from_json(pre_tokenizer, source);
    impl->post_processor = tok::PostProcessor::from_json(post_processor, source);
    impl->decoder = tok::Decoder::from_json(decoder, source);
  } catch (const nlohmann::json::exception& e) {
    throw Error(source + ": unexpected tokenizer section layout: " + e.what());
  }
  const bool byte_level = impl->pre_tokenizer.byte_level();
  impl->model = std::make_unique<tok::BpeModel>(std::move(model->bpe), byte_level, source);

  // Added tokens.
  std::int32_t size = impl->model->size();
  if (!added_tokens.is_null()) {
    if (!added_tokens.is_array()) throw Error(source + ": \"added_tokens\" is not an array");
    for (const auto& a : added_tokens) {
      if (!a.is_object() || !a.contains("id") || !a.contains("content") || !a["id"].is_number_integer() ||
          !a["content"].is_string())
        throw Error(source + ": added token without an integer id and a string content");
      tok::AddedToken t;
      const long long id = a["id"].get<long long>();
      if (id < 0 || id >= tok::kTokenIdLimit)
        throw Error(source + ": added token id " + a["id"].dump() + " is out of range [0, " +
                    std::to_string(tok::kTokenIdLimit) + ")");
      t.id = std::int32_t(id);
      t.content = a["content"].get<std::string>();
      const auto flag = [&](const char* field, bool fallback) {
        if (!a.contains(field) || a[field].is_null()) return fallback;
        if (!a[field].is_boolean()) throw Error(source + ": added token field \"" + field + "\" is not true or false");
        return a[field].get<bool>();
      };
      t.special = flag("special", false);
      t.lstrip = flag("lstrip", false);
      t.rstrip = flag("rstrip", false);
      t.single_word = flag("single_word", false);
      t.normalized = flag("normalized", !t.special);
      size = std::max(size, t.id + 1);
      impl->added_ids.emplace(t.content, t.id);
      impl->added.push_back(std::move(t));
    }
  }
  impl->vocab_size = size;

  std::vector<tok::AddedToken> raw, normalized;
  std::vector<std::string> raw_patterns, normalized_patterns;
  for (const auto& t : impl->added) {
    if (t.normalized && !impl->normalizer.empty()) {
      std::string p;
      impl->normalizer.normalize(t.content, p);
      normalized.push_back(t);
      normalized_patterns.push_back(std::move(p));
    } else {
      raw.push_back(t);
      raw_patterns.push_back(t.content);
    }
  }
  if (!raw.empty()) impl->raw_added = tok::AddedTokenMatcher(std::move(raw), raw_patterns);
  if (!normalized.empty()) impl->normalized_added = tok::AddedTokenMatcher(std::move(normalized), normalized_patterns);

  // Per-id flags and decoded bytes.
  impl->flags.assign(std::size_t(size), 0);
  impl->added_index.assign(std::size_t(size), -1);
  for (std::size_t i = 0; i < impl->added.size(); ++i) {
    const auto& t = impl->added[i];
    impl->added_index[std::size_t(t.id)] = static_cast<std::int32_t>(i);
    impl->flags[std::size_t(t.id)] = Tokenizer::Impl::kPresent | Tokenizer::Impl::kAdded |
                                     (t.special ? Tokenizer::Impl::kSpecial : 0);
  }
  impl->decoded_offset.assign(std::size_t(size) + 1, 0);
  impl->decoded_blob.reserve(std::size_t(size) * 8);
  for (std::int32_t id = 0; id < size; ++id) {
    impl->decoded_offset[std::size_t(id)] = static_cast<std::uint32_t>(impl->decoded_blob.size());
    const std::int32_t a = impl->added_index[std::size_t(id)];
    if (a >= 0) {
      impl->decoder.append_token(impl->added[std::size_t(a)].content, true, impl->decoded_blob);
    } else if (impl->model->has(id)) {
      impl->flags[std::size_t(id)] = Tokenizer::Impl::kPresent;
      impl->decoder.append_token(impl->model->spelling(id), false, impl->decoded_blob);
    }
  }
  impl->decoded_offset[std::size_t(size)] = static_cast<std::uint32_t>(impl->decoded_blob.size());

  // bos / eos: tokenizer_config.json names them; else the template's first special.
  auto lookup = [&](const std::string& content) -> std::optional<std::int32_t> {
    if (const auto it = impl->added_ids.find(content); it != impl->added_ids.end()) return it->second;
    const std::int32_t id = impl->model->find(content);
    return id >= 0 ? std::optional<std::int32_t>(id) : std::nullopt;
  };
  if (config_json) {
    const nlohmann::json config = parse_json(*config_json, config_source);
    if (const auto b = config_token(config, "bos_token")) impl->bos = lookup(*b);
    if (const auto e = config_token(config, "eos_token")) impl->eos = lookup(*e);
  }
  if (!impl->bos && !impl->post_processor.prefix.empty()) impl->bos = impl->post_processor.prefix.front();
  for (const std::int32_t id : impl->post_processor.prefix)
    if (id < 0 || id >= size || !impl->flags[std::size_t(id)]) throw Error(source + ": post_processor id " + std::to_string(id) + " is not in the vocabulary");
  for (const std::int32_t id : impl->post_processor.suffix)
    if (id < 0 || id >= size || !impl->flags[std::size_t(id)]) throw Error(source + ": post_processor id " + std::to_string(id) + " is not in the vocabulary");
  return impl;
}

}  // namespace

std::unique_ptr<Tokenizer::Impl> parse_tokenizer(std::string_view text, const std::string& source,
                                                  const std::string* config_json, const std::string& config_source) {
  try {
    return parse_sections(text, source, config_json, config_source);
  } catch (const Error& e) {
    // Messages quote the file's own strings (merges, type names), which may hold line breaks.
    std::string line = e.what();
    for (char& c : line)
      if (c == '\n' || c == '\r') c = ' ';
    throw Error(line);
  }
}

std::shared_ptr<const Tokenizer> Tokenizer::load(const ModelFiles& files) {
  if (files.is_directory()) return load(files.path());
  const std::string source = files.path().string() + ":tokenizer.json";
  const std::optional<std::string> text = files.read("tokenizer.json");
  if (!text) throw Error(files.path().string() + " carries no tokenizer.json");
  const std::optional<std::string> config = files.read("tokenizer_config.json");
  return std::shared_ptr<const Tokenizer>(new Tokenizer(
      parse_tokenizer(*text, source, config ? &*config : nullptr, files.path().string() + ":tokenizer_config.json")));
}

}  // namespace kvlm
