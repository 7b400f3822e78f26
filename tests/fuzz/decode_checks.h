// The decoding promises the tokenizer targets check: decode() and the
// streaming detokenizer give the same text, in valid UTF-8, piece by piece.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_util.h"
#include "kvlm/tokenizer.h"
#include "tokenizer/utf8.h"

namespace kvlm::fuzz {

inline bool valid_utf8(std::string_view s) { return utf8::find_invalid(s) == std::string_view::npos; }

// Streams `ids` and compares with `text`, decode(ids, skip)'s result.
inline void check_stream_matches_decode(const std::shared_ptr<const Tokenizer>& tok,
                                        const std::vector<std::int32_t>& ids, bool skip, const std::string& text,
                                        const char* target) {
  check(valid_utf8(text), target, "decode gave invalid UTF-8");
  StreamingDetokenizer stream(tok, skip);
  std::string joined;
  for (const std::int32_t id : ids) {
    const std::string piece = stream.push(id);
    check(valid_utf8(piece), target, "streaming gave invalid UTF-8");
    joined += piece;
  }
  joined += stream.flush();
  check(joined == text, target, "streaming differs from decode");
}

}  // namespace kvlm::fuzz
