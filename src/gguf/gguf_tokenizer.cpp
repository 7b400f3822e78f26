// tokenizer.json and tokenizer_config.json from a GGUF's tokenizer.ggml.* keys,
// written as the Hugging Face tokenizer each llama.cpp vocabulary type stands for.
#include <algorithm>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "gguf/gguf_hf_files.h"
#include "kvlm/error.h"
#include "tokenizer/utf8.h"

namespace kvlm {
namespace {

using nlohmann::json;

using gguf_token_type::control, gguf_token_type::unknown, gguf_token_type::user_defined;

// The split regexes of llama.cpp's pre-tokenizer types (llama-vocab.cpp), as
// the models' own tokenizer.json files spell them.
constexpr const char* kLlama3Regex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr const char* kQwen2Regex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

// The text of a list's string item, which the Hugging Face files (JSON) can only hold as valid UTF-8.
const std::string& utf8_item(const GgufFile& g, const json& item, const char* key, std::size_t i) {
  const std::string& s = item.get_ref<const std::string&>();
  if (utf8::find_invalid(s) != std::string_view::npos)
    g.fail(std::string(key) + "[" + std::to_string(i) + "] is not valid UTF-8: '" + printable(s) + "'");
  return s;
}

struct Vocab {
  std::vector<std::string> tokens;
  std::vector<std::int64_t> types;  // empty when the file has none
  std::vector<double> scores;       // empty when the file has none
};

Vocab read_vocab(const GgufFile& g) {
  Vocab v;
  const json* tokens = g.find("tokenizer.ggml.tokens");
  if (!tokens || !tokens->is_array() || tokens->empty()) g.fail("tokenizer.ggml.tokens is missing or not a list");
  v.tokens.reserve(tokens->size());
  for (const json& t : *tokens) {
    if (!t.is_string()) g.fail("tokenizer.ggml.tokens holds a non-string");
    v.tokens.push_back(utf8_item(g, t, "tokenizer.ggml.tokens", v.tokens.size()));
  }
  auto same_length = [&](const char* key) -> const json* {
    const json* a = g.find(key);
    if (!a) return nullptr;
    if (!a->is_array() || a->size() != tokens->size())
      g.fail(std::string(key) + " must be a list as long as tokenizer.ggml.tokens");
    return a;
  };
  if (const json* types = same_length("tokenizer.ggml.token_type"))
    for (const json& t : *types) {
      if (!t.is_number_integer()) g.fail("tokenizer.ggml.token_type holds a non-integer");
      v.types.push_back(t.get<std::int64_t>());
    }
  if (const json* scores = same_length("tokenizer.ggml.scores"))
    for (const json& s : *scores) {
      if (!s.is_number()) g.fail("tokenizer.ggml.scores holds a non-number");
      v.scores.push_back(s.get<double>());
    }
  return v;
}

std::int64_t type_of(const Vocab& v, std::size_t id) { return v.types.empty() ? gguf_token_type::normal : v.types[id]; }

// The first id of each token text (a few GGUFs repeat a text; later ids stay reachable as added tokens).
json vocab_object(const Vocab& v) {
  json vocab = json::object();
  for (std::size_t id = 0; id < v.tokens.size(); ++id)
    if (!vocab.contains(v.tokens[id])) vocab[v.tokens[id]] = id;
  return vocab;
}

// Control and unknown tokens are special (matched only when asked); user-defined
// ones always match, as in llama.cpp.
json added_tokens(const Vocab& v) {
  json added = json::array();
  for (std::size_t id = 0; id < v.tokens.size(); ++id) {
    const std::int64_t type = type_of(v, id);
    if (type != control && type != user_defined && type != unknown) continue;
    added.push_back({{"id", id},
                     {"content", v.tokens[id]},
                     {"single_word", false},
                     {"lstrip", false},
                     {"rstrip", false},
                     {"normalized", false},
                     {"special", type != user_defined}});
  }
  return added;
}

std::optional<std::string> token_text(const GgufFile& g, const Vocab& v, const char* key) {
  const auto id = g.optional_integer(key);
  if (!id || *id < 0) return std::nullopt;
  if (std::size_t(*id) >= v.tokens.size()) g.fail(std::string(key) + " " + std::to_string(*id) + " is outside the vocabulary");
  return v.tokens[std::size_t(*id)];
}

// BOS (and EOS) around each encoded text, as the model's post-processor adds them.
json post_processor(const GgufFile& g, const Vocab& v, bool add_bos_default) {
  const bool add_bos = g.optional_bool("tokenizer.ggml.add_bos_token").value_or(add_bos_default);
  const bool add_eos = g.optional_bool("tokenizer.ggml.add_eos_token").value_or(false);
  const auto bos = token_text(g, v, "tokenizer.ggml.bos_token_id");
  const auto eos = token_text(g, v, "tokenizer.ggml.eos_token_id");
  json single = json::array(), specials = json::object();
  auto special = [&](const std::string& text, const char* key) {
    single.push_back({{"SpecialToken", {{"id", text}, {"type_id", 0}}}});
    specials[text] = {{"id", text}, {"ids", {g.integer(key)}}, {"tokens", {text}}};
  };
  if (add_bos && bos) special(*bos, "tokenizer.ggml.bos_token_id");
  single.push_back({{"Sequence", {{"id", "A"}, {"type_id", 0}}}});
  if (add_eos && eos) special(*eos, "tokenizer.ggml.eos_token_id");
  if (single.size() == 1) return nullptr;
  return {{"type", "TemplateProcessing"}, {"single", single}, {"pair", single}, {"special_tokens", specials}};
}

json split(const char* regex) {
  return {{"type", "Split"}, {"pattern", {{"Regex", regex}}}, {"behavior", "Isolated"}, {"invert", false}};
}
json byte_level(bool use_regex) {
  return {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", use_regex}};
}

json byte_level_bpe(const GgufFile& g, const Vocab& v) {
  const json* merges = g.find("tokenizer.ggml.merges");
  if (!merges || !merges->is_array()) g.fail("tokenizer.ggml.merges is missing (a gpt2 tokenizer needs its merges)");
  for (std::size_t i = 0; i < merges->size(); ++i) {
    if (!(*merges)[i].is_string()) g.fail("tokenizer.ggml.merges holds a non-string");
    utf8_item(g, (*merges)[i], "tokenizer.ggml.merges", i);
  }
  const std::string pre = g.optional_string("tokenizer.ggml.pre").value_or("default");
  json t;
  json normalizer = nullptr, pre_tokenizer;
  bool ignore_merges = false, add_bos = false;
  if (pre == "llama-bpe" || pre == "llama3" || pre == "llama-v3") {
    pre_tokenizer = {{"type", "Sequence"}, {"pretokenizers", {split(kLlama3Regex), byte_level(false)}}};
    ignore_merges = add_bos = true;
  } else if (pre == "qwen2") {
    normalizer = {{"type", "NFC"}};
    pre_tokenizer = {{"type", "Sequence"}, {"pretokenizers", {split(kQwen2Regex), byte_level(false)}}};
  } else if (pre == "smollm") {
    pre_tokenizer = {{"type", "Sequence"},
                     {"pretokenizers", {{{"type", "Digits"}, {"individual_digits", true}}, byte_level(true)}}};
  } else if (pre == "gpt-2" || pre == "gpt2" || pre == "default") {
    pre_tokenizer = byte_level(true);
  } else {
    g.fail("tokenizer.ggml.pre '" + printable(pre) + "' is not supported (llama-bpe, qwen2, smollm, gpt-2)");
  }
  t["normalizer"] = normalizer;
  t["pre_tokenizer"] = pre_tokenizer;
  t["decoder"] = byte_level(true);
  t["post_processor"] = post_processor(g, v, add_bos);
  t["model"] = {{"type", "BPE"}, {"vocab", vocab_object(v)}, {"merges", *merges},
                {"ignore_merges", ignore_merges}, {"byte_fallback", false}};
  return t;
}

// Code-point boundaries of a UTF-8 string (invalid bytes count as one each).
std::vector<std::size_t> char_starts(std::string_view s) {
  std::vector<std::size_t> starts;
  for (std::size_t i = 0; i < s.size(); ++i)
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) starts.push_back(i);
  return starts;
}

// SentencePiece's merges as the Hugging Face converter derives them from
// scores: every split of a token into two tokens, the merges of higher-scored
// results first, splits of one token ordered by their pieces' ids.
json merges_from_scores(const GgufFile& g, const Vocab& v) {
  if (v.scores.empty()) g.fail("tokenizer.ggml.scores is missing (a llama tokenizer needs its scores)");
  std::unordered_map<std::string_view, std::size_t> ids;
  for (std::size_t id = 0; id < v.tokens.size(); ++id) ids.emplace(v.tokens[id], id);
  // The byte lengths of the tokens: a cut is looked up only when both pieces have one, so that a
  // long token costs one pass, not a hash of each of its prefixes (quadratic: a crafted file would hang).
  std::vector<bool> has_length;
  for (const std::string& t : v.tokens) {
    if (t.size() >= has_length.size()) has_length.resize(t.size() + 1);
    has_length[t.size()] = true;
  }
  struct Merge {
    std::size_t left, right;
    double score;
  };
  std::vector<Merge> merges;
  for (std::size_t id = 0; id < v.tokens.size(); ++id) {
    const std::string_view token = v.tokens[id];
    const std::size_t first = merges.size();
    for (const std::size_t cut : char_starts(token)) {
      if (cut == 0 || !has_length[cut] || !has_length[token.size() - cut]) continue;
      const auto l = ids.find(token.substr(0, cut)), r = ids.find(token.substr(cut));
      if (l != ids.end() && r != ids.end()) merges.push_back({l->second, r->second, v.scores[id]});
    }
    std::sort(merges.begin() + std::ptrdiff_t(first), merges.end(),
              [](const Merge& a, const Merge& b) { return a.left != b.left ? a.left < b.left : a.right < b.right; });
  }
  std::stable_sort(merges.begin(), merges.end(), [](const Merge& a, const Merge& b) { return a.score > b.score; });
  json out = json::array();
  for (const Merge& m : merges) out.push_back({v.tokens[m.left], v.tokens[m.right]});
  return out;
}

json sentencepiece_bpe(const GgufFile& g, const Vocab& v) {
  const bool space_prefix = g.optional_bool("tokenizer.ggml.add_space_prefix").value_or(true);
  json t;
  json steps = json::array();
  if (space_prefix) steps.push_back({{"type", "Prepend"}, {"prepend", "\u2581"}});
  steps.push_back({{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", "\u2581"}});
  t["normalizer"] = {{"type", "Sequence"}, {"normalizers", steps}};
  t["pre_tokenizer"] = nullptr;
  json decoders = {{{"type", "Replace"}, {"pattern", {{"String", "\u2581"}}}, {"content", " "}},
                   {{"type", "ByteFallback"}},
                   {{"type", "Fuse"}}};
  if (space_prefix) decoders.push_back({{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}});
  t["decoder"] = {{"type", "Sequence"}, {"decoders", decoders}};
  t["post_processor"] = post_processor(g, v, true);
  json model = {{"type", "BPE"}, {"vocab", vocab_object(v)}, {"merges", merges_from_scores(g, v)},
                {"byte_fallback", true}, {"fuse_unk", true}};
  if (const auto unk = token_text(g, v, "tokenizer.ggml.unknown_token_id")) model["unk_token"] = *unk;
  t["model"] = model;
  return t;
}

}  // namespace

json gguf_tokenizer_json(const GgufFile& g) {
  const std::string model = g.string("tokenizer.ggml.model");
  const Vocab v = read_vocab(g);
  json t;
  if (model == "gpt2")
    t = byte_level_bpe(g, v);
  else if (model == "llama")
    t = sentencepiece_bpe(g, v);
  else
    g.fail("tokenizer.ggml.model '" + printable(model) + "' is not supported (gpt2 or llama)");
  t["version"] = "1.0";
  t["added_tokens"] = added_tokens(v);
  return t;
}

json gguf_tokenizer_config_json(const GgufFile& g) {
  json c = json::object();
  const json* tokens = g.find("tokenizer.ggml.tokens");
  auto name = [&](const char* key) -> std::optional<std::string> {
    const auto id = g.optional_integer(key);
    if (!id || !tokens || !tokens->is_array() || *id < 0 || std::size_t(*id) >= tokens->size() ||
        !(*tokens)[std::size_t(*id)].is_string())
      return std::nullopt;
    return utf8_item(g, (*tokens)[std::size_t(*id)], "tokenizer.ggml.tokens", std::size_t(*id));
  };
  if (const auto bos = name("tokenizer.ggml.bos_token_id")) c["bos_token"] = *bos;
  if (const auto eos = name("tokenizer.ggml.eos_token_id")) c["eos_token"] = *eos;
  if (const auto add_bos = g.optional_bool("tokenizer.ggml.add_bos_token")) c["add_bos_token"] = *add_bos;
  if (const auto chat_template = g.optional_string("tokenizer.chat_template")) {
    if (const std::size_t bad = utf8::find_invalid(*chat_template); bad != std::string_view::npos)
      g.fail("tokenizer.chat_template is not valid UTF-8 (at its byte " + std::to_string(bad) + ")");
    c["chat_template"] = *chat_template;
  }
  return c;
}

}  // namespace kvlm
