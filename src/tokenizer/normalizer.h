// The normalizer of tokenizer.json: Sequence of NFC / NFD / NFKC / NFKD
// (ICU), Replace (string or regex), Prepend, Strip and Lowercase. Applied to
// each stretch of text between added tokens, before pre-tokenization.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/regex.h"

namespace kvlm::tok {

class Normalizer {
 public:
  // `config` is the "normalizer" value (null: no normalization). Throws
  // kvlm::Error naming `context` for unsupported types.
  static Normalizer from_json(const nlohmann::json& config, const std::string& context);

  bool empty() const { return steps_.empty(); }
  // Writes the normalized form of `in` (valid UTF-8) to `out`.
  void normalize(std::string_view in, std::string& out) const;

 private:
  enum class Kind { nfc, nfd, nfkc, nfkd, replace_string, replace_regex, prepend, strip, lowercase };
  struct Step {
    Kind kind;
    std::string pattern;  // replace_string: what to replace; prepend: what to prepend
    std::string content;  // replace_*: the replacement
    std::shared_ptr<const Regex> regex;
    bool left = false, right = false;  // strip
  };
  void add(const nlohmann::json& config, const std::string& context);
  static void apply(const Step& step, std::string_view in, std::string& out);

  std::vector<Step> steps_;
};

}  // namespace kvlm::tok
