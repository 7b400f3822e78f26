// A small forward-only JSON scanner for the large parts of tokenizer.json
// (model.vocab and model.merges: hundreds of thousands of strings), which a
// DOM parser makes slow to load. Everything else is handed to nlohmann::json
// as raw spans. Errors throw kvlm::Error "<source>: malformed JSON at byte N".
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace kvlm::tok {

class JsonScanner {
 public:
  JsonScanner(std::string_view text, std::string source) : text_(text), source_(std::move(source)) {}

  void skip_ws() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\n' || text_[pos_] == '\r' || text_[pos_] == '\t'))
      ++pos_;
  }
  // Returns the next non-space character without consuming it ('\0' at end).
  char peek() {
    skip_ws();
    return pos_ < text_.size() ? text_[pos_] : '\0';
  }
  void expect(char c);
  // Consumes `c` if it comes next.
  bool accept(char c);

  // Appends the decoded string that comes next to `out`.
  void read_string(std::string& out);
  // Writes the decoded string that comes next to `out` and returns its
  // length; `out` must have room for the raw (escaped) string, which is never
  // shorter than the decoded one.
  std::size_t read_string(char* out);
  std::int64_t read_integer();
  // Skips the value that comes next and returns its raw text.
  std::string_view skip_value();

  // Iterates an object: bool first = true; expect('{'); while (next_key(key, first)) {read the value}.
  bool next_key(std::string& key, bool& first);
  // Iterates an array: bool first = true; expect('['); while (next_element(first)) {read the value}.
  bool next_element(bool& first);

  [[noreturn]] void fail(const std::string& what) const;
  std::size_t position() const { return pos_; }

 private:
  void skip_string();
  template <class Sink>
  void read_string_to(Sink& sink);

  std::string_view text_;
  std::string source_;
  std::size_t pos_ = 0;
};

}  // namespace kvlm::tok
