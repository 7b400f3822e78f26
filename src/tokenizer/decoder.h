// The decoder of tokenizer.json, reduced to what each token contributes: the
// bytes of one token (ByteLevel, Replace, ByteFallback, Metaspace) plus a strip
// of leading characters at the very start of the text (Strip, Metaspace).
// Decoding concatenates token bytes and then repairs UTF-8, which lets the
// streaming detokenizer produce exactly what decode() produces.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace kvlm::tok {

class Decoder {
 public:
  // `config` is the "decoder" value (null: token strings are the text).
  static Decoder from_json(const nlohmann::json& config, const std::string& context);

  // Appends the bytes token `spelling` decodes to. Added tokens are not
  // byte-level tokens: their content is taken as written.
  void append_token(std::string_view spelling, bool added, std::string& out) const;

  // Leading `strip_char` characters to drop from the start of the text.
  int strip_start() const { return strip_start_; }
  // Trailing ones to drop from the end (decode() only; streams keep them).
  int strip_stop() const { return strip_stop_; }
  char strip_char() const { return strip_char_; }

 private:
  enum class Kind { byte_level, replace, byte_fallback, metaspace };
  struct Step {
    Kind kind;
    std::string from, to;
  };
  void add(const nlohmann::json& config, const std::string& context, bool after_fuse);

  std::vector<Step> steps_;
  int strip_start_ = 0;
  int strip_stop_ = 0;
  char strip_char_ = ' ';
};

}  // namespace kvlm::tok
