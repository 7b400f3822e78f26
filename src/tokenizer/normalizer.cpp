#include "tokenizer/normalizer.h"

#include <unicode/bytestream.h>
#include <unicode/casemap.h>
#include <unicode/normalizer2.h>
#include <unicode/uchar.h>

#include "kvlm/error.h"
#include "tokenizer/utf8.h"

namespace kvlm::tok {
namespace {

bool is_ascii(std::string_view s) {
  for (const char c : s)
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  return true;
}

const icu::Normalizer2& unicode_form(const char* name, UNormalization2Mode mode) {
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* n = icu::Normalizer2::getInstance(nullptr, name, mode, status);
  if (U_FAILURE(status) || n == nullptr) throw Error(std::string("ICU normalizer unavailable: ") + u_errorName(status));
  return *n;
}

void unicode_normalize(const icu::Normalizer2& form, std::string_view in, std::string& out) {
  out.clear();
  if (is_ascii(in)) {  // every Unicode normal form leaves ASCII alone
    out.assign(in);
    return;
  }
  UErrorCode status = U_ZERO_ERROR;
  const icu::StringPiece piece(in.data(), static_cast<std::int32_t>(in.size()));
  if (form.isNormalizedUTF8(piece, status) && U_SUCCESS(status)) {
    out.assign(in);
    return;
  }
  status = U_ZERO_ERROR;
  icu::StringByteSink<std::string> sink(&out, static_cast<std::int32_t>(in.size()));
  form.normalizeUTF8(0, piece, sink, nullptr, status);
  if (U_FAILURE(status)) throw Error(std::string("Unicode normalization failed: ") + u_errorName(status));
}

std::string_view strip(std::string_view s, bool left, bool right) {
  if (left) {
    std::size_t i = 0;
    while (i < s.size()) {
      std::size_t next = i;
      if (!u_isUWhiteSpace(static_cast<UChar32>(utf8::next_code_point(s, next)))) break;
      i = next;
    }
    s.remove_prefix(i);
  }
  if (right) {
    while (!s.empty()) {
      std::size_t start = s.size() - 1;
      while (start > 0 && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
      std::size_t j = start;
      if (!u_isUWhiteSpace(static_cast<UChar32>(utf8::next_code_point(s, j)))) break;
      s.remove_suffix(s.size() - start);
    }
  }
  return s;
}

std::string string_field(const nlohmann::json& j, const char* key, const std::string& context) {
  if (!j.contains(key) || !j[key].is_string()) throw Error(context + ": missing string field \"" + key + "\"");
  return j[key].get<std::string>();
}

}  // namespace

Normalizer Normalizer::from_json(const nlohmann::json& config, const std::string& context) {
  Normalizer n;
  if (!config.is_null()) n.add(config, context);
  return n;
}

void Normalizer::add(const nlohmann::json& config, const std::string& context) {
  if (!config.is_object() || !config.contains("type")) throw Error(context + ": normalizer without a type");
  const std::string type = config["type"].get<std::string>();
  if (type == "Sequence") {
    for (const auto& item : config.at("normalizers")) add(item, context);
  } else if (type == "NFC") {
    steps_.push_back({Kind::nfc, {}, {}, {}});
  } else if (type == "NFD") {
    steps_.push_back({Kind::nfd, {}, {}, {}});
  } else if (type == "NFKC") {
    steps_.push_back({Kind::nfkc, {}, {}, {}});
  } else if (type == "NFKD") {
    steps_.push_back({Kind::nfkd, {}, {}, {}});
  } else if (type == "Replace") {
    const auto& pattern = config.at("pattern");
    const std::string content = string_field(config, "content", context);
    if (pattern.contains("String")) {
      const std::string what = pattern["String"].get<std::string>();
      if (what.empty()) throw Error(context + ": Replace normalizer with an empty pattern");
      steps_.push_back({Kind::replace_string, what, content, {}});
    } else if (pattern.contains("Regex")) {
      auto re = std::make_shared<Regex>(pattern["Regex"].get<std::string>(), false, context + " Replace normalizer");
      steps_.push_back({Kind::replace_regex, {}, content, std::move(re)});
    } else {
      throw Error(context + ": Replace normalizer needs a String or Regex pattern");
    }
  } else if (type == "Prepend") {
    steps_.push_back({Kind::prepend, string_field(config, "prepend", context), {}, {}});
  } else if (type == "Strip") {
    Step s{Kind::strip, {}, {}, {}};
    s.left = config.value("strip_left", false);
    s.right = config.value("strip_right", false);
    steps_.push_back(s);
  } else if (type == "Lowercase") {
    steps_.push_back({Kind::lowercase, {}, {}, {}});
  } else {
    throw Error(context + ": unsupported normalizer type \"" + type + "\"");
  }
}

void Normalizer::apply(const Step& step, std::string_view in, std::string& out) {
  out.clear();
  switch (step.kind) {
    case Kind::nfc: unicode_normalize(unicode_form("nfc", UNORM2_COMPOSE), in, out); return;
    case Kind::nfd: unicode_normalize(unicode_form("nfc", UNORM2_DECOMPOSE), in, out); return;
    case Kind::nfkc: unicode_normalize(unicode_form("nfkc", UNORM2_COMPOSE), in, out); return;
    case Kind::nfkd: unicode_normalize(unicode_form("nfkc", UNORM2_DECOMPOSE), in, out); return;
    case Kind::replace_string: {
      std::size_t pos = 0;
      for (;;) {
        const std::size_t hit = in.find(step.pattern, pos);
        if (hit == std::string_view::npos) break;
        out.append(in.substr(pos, hit - pos));
        out.append(step.content);
        pos = hit + step.pattern.size();
      }
      out.append(in.substr(pos));
      return;
    }
    case Kind::replace_regex: {
      std::vector<Regex::Span> spans;
      step.regex->find_all(in, spans);
      std::size_t pos = 0;
      for (const auto& s : spans) {
        out.append(in.substr(pos, s.begin - pos));
        out.append(step.content);
        pos = s.end;
      }
      out.append(in.substr(pos));
      return;
    }
    case Kind::prepend:
      // Hugging Face prepends only to non-empty text.
      if (!in.empty()) out.append(step.pattern);
      out.append(in);
      return;
    case Kind::strip:
      out.assign(strip(in, step.left, step.right));
      return;
    case Kind::lowercase: {
      UErrorCode status = U_ZERO_ERROR;
      icu::StringByteSink<std::string> sink(&out, static_cast<std::int32_t>(in.size()));
      icu::CaseMap::utf8ToLower("", 0, icu::StringPiece(in.data(), static_cast<std::int32_t>(in.size())), sink,
                                nullptr, status);
      if (U_FAILURE(status)) throw Error(std::string("lowercasing failed: ") + u_errorName(status));
      return;
    }
  }
}

void Normalizer::normalize(std::string_view in, std::string& out) const {
  if (steps_.empty()) {
    out.assign(in);
    return;
  }
  std::string scratch;
  std::string_view current = in;
  std::string* dst = &out;
  std::string* other = &scratch;
  for (const Step& step : steps_) {
    apply(step, current, *dst);
    current = *dst;
    std::swap(dst, other);
  }
  // The last result lives in *other after the final swap.
  if (other != &out) out = std::move(*other);
}

}  // namespace kvlm::tok
