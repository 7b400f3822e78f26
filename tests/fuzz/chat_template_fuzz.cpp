// libFuzzer target: chat templates, parsed and rendered. The first byte
// picks the template (bits 0-2: 0 and 5-7 a fuzzed one, the input's first
// part up to "\n#####\n"; 1-4 a real one from tests/fixtures/templates),
// add_generation_prompt (bit 3) and how the messages come (bit 4: the text of
// a JSON array for render_json; else records split by \x1e, each
// "role\x1fcontent", for render). The template's errors, raise_exception
// included, must come out as one-line kvlm::Errors: never a crash, another
// exception, a hang (libFuzzer's -timeout) or unbounded memory (-rss_limit_mb).
// Valid UTF-8 in must give valid UTF-8 out (strings are sequences of
// characters in Jinja, not of bytes).
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "fuzz_util.h"
#include "kvlm/chat_template.h"
#include "tokenizer/utf8.h"

namespace {

constexpr const char* kTarget = "chat_template_fuzz";
using kvlm::fuzz::check;

std::string read(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  check(bool(in), kTarget, "cannot read " + p.string());
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

const std::vector<kvlm::ChatTemplate>& fixtures() {
  static const std::vector<kvlm::ChatTemplate> all = [] {
    const std::filesystem::path dir = std::filesystem::path(KVLM_SOURCE_DIR) / "tests/fixtures/templates";
    std::vector<kvlm::ChatTemplate> t;
    for (const char* name : {"llama-3.2-instruct.jinja", "qwen2.5-instruct.jinja", "llama-3.1-instruct.jinja",
                             "gemma-2-it.jinja"})
      t.push_back(kvlm::ChatTemplate::from_string(read(dir / name), "<|begin_of_text|>", "<|eot_id|>"));
    return t;
  }();
  return all;
}

bool valid_utf8(std::string_view s) { return kvlm::utf8::find_invalid(s) == std::string_view::npos; }

std::vector<kvlm::ChatMessage> split_messages(std::string_view text) {
  std::vector<kvlm::ChatMessage> out;
  while (!text.empty()) {
    const std::size_t end = std::min(text.find('\x1e'), text.size());
    const std::string_view record = text.substr(0, end);
    const std::size_t sep = record.find('\x1f');
    if (sep == std::string_view::npos)
      out.push_back({"user", std::string(record)});
    else
      out.push_back({std::string(record.substr(0, sep)), std::string(record.substr(sep + 1))});
    text.remove_prefix(std::min(text.size(), end + 1));
  }
  return out;
}

void render(const kvlm::ChatTemplate& t, std::string_view messages, bool add_generation_prompt, bool as_json,
            bool valid_in) {
  kvlm::RenderOptions options;
  options.date = "2026-07-04";
  try {
    const std::string out = as_json ? t.render_json(messages, add_generation_prompt, options)
                                    : t.render(split_messages(messages), add_generation_prompt, options);
    if (valid_in) check(valid_utf8(out), kTarget, "valid UTF-8 rendered into invalid UTF-8");
  } catch (const kvlm::Error& e) {
    kvlm::fuzz::check_error(e, kTarget);
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)fixtures();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const int which = data[0] & 7;
  const bool add_generation_prompt = data[0] & 8, as_json = data[0] & 16;
  if (which >= 1 && which <= 4) {
    const std::string_view messages(reinterpret_cast<const char*>(data + 1), size - 1);
    render(fixtures()[std::size_t(which - 1)], messages, add_generation_prompt, as_json, valid_utf8(messages));
    return 0;
  }
  const auto [source, messages] = kvlm::fuzz::split_input(data + 1, size - 1);
  std::optional<kvlm::ChatTemplate> t;
  try {
    t = kvlm::ChatTemplate::from_string(std::string(source), "<s>", "</s>");
  } catch (const kvlm::Error& e) {
    kvlm::fuzz::check_error(e, kTarget);
    return 0;
  }
  render(*t, messages, add_generation_prompt, as_json, valid_utf8(source) && valid_utf8(messages));
  return 0;
}
