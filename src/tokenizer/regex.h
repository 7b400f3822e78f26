// PCRE2 (UTF + UCP, JIT when available) for the pre-tokenizer split patterns
// and regex replacements that tokenizer.json files carry. A compiled Regex is
// immutable and may be used from many threads at once.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kvlm::tok {

class Regex {
 public:
  struct Span {
    std::size_t begin;
    std::size_t end;
  };

  // Compiles a Hugging Face pattern (Regex: Oniguruma syntax, which PCRE2
  // accepts for every pattern real tokenizers use), or a plain string when
  // `literal`. Throws kvlm::Error naming `context` when it does not compile.
  Regex(std::string_view pattern, bool literal, const std::string& context);

  // Appends every non-overlapping match of `text` (valid UTF-8) to `out`,
  // left to right; an empty match advances by one character.
  void find_all(std::string_view text, std::vector<Span>& out) const;

 private:
  struct Code;
  std::shared_ptr<const Code> code_;
};

}  // namespace kvlm::tok
