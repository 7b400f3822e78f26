// The pre_tokenizer of tokenizer.json: splits normalized text into the words
// BPE runs on. Supports Sequence, Split (regex or string, every delimiter
// behavior, invert), ByteLevel, Metaspace, Digits and WhitespaceSplit.
//
// Byte-level BPE runs on raw bytes in kvlm, so the ByteLevel step does not
// rewrite text into the "Ġ" alphabet; it only adds its prefix space or its
// GPT-2 split when configured to.
#pragma once

#include <deque>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/regex.h"

namespace kvlm::tok {

enum class SplitBehavior { removed, isolated, merged_with_previous, merged_with_next, contiguous };

class PreTokenizer {
 public:
  // `config` is the "pre_tokenizer" value (null: the whole text is one word).
  static PreTokenizer from_json(const nlohmann::json& config, const std::string& context);

  // True when a ByteLevel step is present: the model is byte-level BPE.
  bool byte_level() const { return byte_level_; }

  // Appends the words of `text` to `out`. Words point into `text` or into
  // strings appended to `storage` (which must outlive them).
  // `at_input_start`: `text` begins at offset 0 of the caller's input
  // (Metaspace prepend_scheme "first" prepends only there).
  void split(std::string_view text, bool at_input_start, std::vector<std::string_view>& out,
             std::deque<std::string>& storage) const;

 private:
  enum class Kind { split, byte_level, metaspace };
  struct Step {
    Kind kind = Kind::split;
    std::shared_ptr<const Regex> regex;  // split
    SplitBehavior behavior = SplitBehavior::isolated;
    bool invert = false;
    bool add_prefix_space = false;  // byte_level
    std::string replacement;        // metaspace
    enum class Prepend { always, first, never } prepend = Prepend::always;
    bool metaspace_split = true;
  };
  static Step make_step(Kind kind, std::shared_ptr<const Regex> regex) {
    Step s;
    s.kind = kind;
    s.regex = std::move(regex);
    return s;
  }
  void add(const nlohmann::json& config, const std::string& context);
  void run_step(const Step& step, std::string_view piece, bool at_start, std::vector<std::string_view>& out,
                std::deque<std::string>& storage) const;

  std::vector<Step> steps_;
  bool byte_level_ = false;
};

// Splits `text` at the `matches` of a pattern with a Hugging Face delimiter
// behavior; appends the resulting pieces.
void split_with_behavior(std::string_view text, const std::vector<Regex::Span>& matches, SplitBehavior behavior,
                         bool invert, std::vector<std::string_view>& out);

}  // namespace kvlm::tok
