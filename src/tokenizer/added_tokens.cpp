#include "tokenizer/added_tokens.h"

#include <algorithm>
#include <unicode/uchar.h>

#include "tokenizer/utf8.h"

namespace kvlm::tok {
namespace {

bool is_word_char(std::uint32_t cp) { return cp == '_' || u_isalnum(static_cast<UChar32>(cp)); }

std::uint32_t code_point_before(std::string_view s, std::size_t end) {
  std::size_t start = end - 1;
  while (start > 0 && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
  return utf8::next_code_point(s, start);
}

bool is_space_at(std::string_view s, std::size_t i, std::size_t& next) {
  next = i;
  return u_isUWhiteSpace(static_cast<UChar32>(utf8::next_code_point(s, next)));
}

}  // namespace

AddedTokenMatcher::AddedTokenMatcher(std::vector<AddedToken> tokens, const std::vector<std::string>& patterns)
    : tokens_(std::move(tokens)) {
  nodes_.emplace_back();
  for (std::size_t t = 0; t < tokens_.size(); ++t) {
    const std::string& p = patterns[t];
    if (p.empty()) continue;
    first_byte_[static_cast<unsigned char>(p[0])] = true;
    std::int32_t node = 0;
    for (const char c : p) {
      const auto b = static_cast<unsigned char>(c);
      std::int32_t next = child(node, b);
      if (next < 0) {
        next = static_cast<std::int32_t>(nodes_.size());
        nodes_.emplace_back();
        auto& kids = nodes_[std::size_t(node)].children;
        kids.insert(std::lower_bound(kids.begin(), kids.end(), std::make_pair(b, std::int32_t{0})), {b, next});
      }
      node = next;
    }
    // The first token listed wins a duplicate content.
    if (nodes_[std::size_t(node)].token < 0) nodes_[std::size_t(node)].token = static_cast<std::int32_t>(t);
  }
}

std::int32_t AddedTokenMatcher::child(std::int32_t node, unsigned char b) const {
  const auto& kids = nodes_[std::size_t(node)].children;
  if (kids.size() <= 8) {
    for (const auto& [k, v] : kids)
      if (k == b) return v;
    return -1;
  }
  const auto it = std::lower_bound(kids.begin(), kids.end(), std::make_pair(b, std::int32_t{0}));
  return it != kids.end() && it->first == b ? it->second : -1;
}

void AddedTokenMatcher::split(std::string_view text, bool parse_special, std::vector<Section>& out) const {
  std::size_t text_start = 0;  // start of the pending text section
  std::size_t i = 0;
  while (i < text.size()) {
    if (!first_byte_[static_cast<unsigned char>(text[i])]) {
      ++i;
      continue;
    }
    // Longest allowed token starting at i.
    std::int32_t best = -1;
    std::size_t best_end = 0;
    std::int32_t node = 0;
    for (std::size_t j = i; j < text.size(); ++j) {
      node = child(node, static_cast<unsigned char>(text[j]));
      if (node < 0) break;
      const std::int32_t t = nodes_[std::size_t(node)].token;
      if (t >= 0 && (parse_special || !tokens_[std::size_t(t)].special)) {
        best = t;
        best_end = j + 1;
      }
    }
    if (best < 0) {
      ++i;
      continue;
    }
    const AddedToken& token = tokens_[std::size_t(best)];
    if (token.single_word) {
      const bool start_ok = i == 0 || !is_word_char(code_point_before(text, i));
      std::size_t after = best_end;
      const bool end_ok = best_end == text.size() || !is_word_char(utf8::next_code_point(text, after));
      if (!start_ok || !end_ok) {
        i = best_end;  // like a discarded non-overlapping match
        continue;
      }
    }
    std::size_t start = i, end = best_end;
    if (token.lstrip)
      while (start > text_start && u_isUWhiteSpace(static_cast<UChar32>(code_point_before(text, start)))) {
        std::size_t s = start - 1;
        while (s > text_start && (static_cast<unsigned char>(text[s]) & 0xC0) == 0x80) --s;
        start = s;
      }
    if (token.rstrip) {
      std::size_t next = end;
      while (end < text.size() && is_space_at(text, end, next)) end = next;
    }
    if (start > text_start) out.push_back({text.substr(text_start, start - text_start), -1});
    out.push_back({{}, token.id});
    text_start = i = end;
  }
  if (text_start < text.size()) out.push_back({text.substr(text_start), -1});
}

}  // namespace kvlm::tok
