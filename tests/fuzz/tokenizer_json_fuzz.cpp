// libFuzzer target: tokenizer.json loading (Tokenizer::load: the streaming
// scan of vocab and merges, the normalizer, pre-tokenizer, post-processor,
// decoder and added-token sections). The input is tokenizer.json, optionally
// followed by "\n#####\n" and tokenizer_config.json. A kvlm::Error is the
// expected answer to a bad file; a loaded tokenizer must then encode and
// decode a few probes within its promises (ids in range, decode valid UTF-8,
// streaming equal to decode, invalid UTF-8 refused).
#include <cstdint>
#include <string>
#include <vector>

#include "decode_checks.h"
#include "fuzz_util.h"
#include "kvlm/tokenizer.h"
#include "tokenizer/utf8.h"

namespace {

constexpr const char* kTarget = "tokenizer_json_fuzz";
using kvlm::fuzz::check;

const kvlm::fuzz::ScratchDir& dir() {
  static const kvlm::fuzz::ScratchDir d("tokenizer-json");
  return d;
}

using kvlm::fuzz::valid_utf8;

void check_ids(const kvlm::Tokenizer& tok, const std::vector<std::int32_t>& ids) {
  for (const std::int32_t id : ids) check(id >= 0 && id < tok.vocab_size(), kTarget, "encode gave an id out of range");
}

// decode() of ids the tokenizer gave: valid UTF-8, and what streaming gives.
void check_decode(const std::shared_ptr<const kvlm::Tokenizer>& tok, const std::vector<std::int32_t>& ids) {
  for (const bool skip : {false, true}) {
    std::string text;
    try {
      text = tok->decode(ids, skip);
    } catch (const kvlm::Error& e) {  // an id without a token (a hole in the vocabulary)
      kvlm::fuzz::check_error(e, kTarget);
      continue;
    }
    kvlm::fuzz::check_stream_matches_decode(tok, ids, skip, text, kTarget);
  }
}

void exercise(const std::shared_ptr<const kvlm::Tokenizer>& tok) {
  check(tok->vocab_size() > 0, kTarget, "empty vocabulary");
  for (const auto id : {tok->bos_id(), tok->eos_id()})
    check(!id || (*id >= 0 && *id < tok->vocab_size()), kTarget, "bos/eos out of range");
  const std::int32_t n = std::min(tok->vocab_size(), 512);
  std::vector<std::int32_t> all;
  for (std::int32_t id = 0; id < n; ++id) {
    try {
      const std::string spelled = tok->id_to_token(id);
      (void)tok->token_to_id(spelled);
      (void)tok->is_special(id);
      const std::string text = tok->decode(std::vector<std::int32_t>{id});
      check(valid_utf8(text), kTarget, "decode of one id gave invalid UTF-8");
      all.push_back(id);
    } catch (const kvlm::Error& e) {
      kvlm::fuzz::check_error(e, kTarget);
    }
  }
  check_decode(tok, all);
  for (const char* probe : {"", "Hello world", "  a\n\tb  c ", "caf\xC3\xA9 \xE6\xBC\xA2\xE5\xAD\x97 \xF0\x9F\xA4\x96",
                            "<s>x</s><|eot_id|><think>", "12345 it's"}) {
    for (const bool add : {false, true})
      for (const bool special : {false, true}) {
        try {
          const auto ids = tok->encode(probe, {.add_special = add, .parse_special = special});
          check_ids(*tok, ids);
          check_decode(tok, ids);
        } catch (const kvlm::Error& e) {  // a vocabulary without the pieces to spell the probe
          kvlm::fuzz::check_error(e, kTarget);
        }
      }
  }
  bool refused = false;
  try {
    (void)tok->encode("bad \xC3 utf8");
  } catch (const kvlm::Error& e) {
    kvlm::fuzz::check_error(e, kTarget);
    refused = true;
  }
  check(refused, kTarget, "invalid UTF-8 was encoded");
  const auto out_of_range = std::vector<std::int32_t>{tok->vocab_size()};
  refused = false;
  try {
    (void)tok->decode(out_of_range);
  } catch (const kvlm::Error& e) {
    kvlm::fuzz::check_error(e, kTarget);
    refused = true;
  }
  check(refused, kTarget, "an id out of range was decoded");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto [tokenizer_json, config_json] = kvlm::fuzz::split_input(data, size);
  kvlm::fuzz::write_file(dir().path() / "tokenizer.json", tokenizer_json);
  std::error_code ec;
  std::filesystem::remove(dir().path() / "tokenizer_config.json", ec);
  if (!config_json.empty()) kvlm::fuzz::write_file(dir().path() / "tokenizer_config.json", config_json);
  std::shared_ptr<const kvlm::Tokenizer> tok;
  try {
    tok = kvlm::Tokenizer::load(dir().path());
  } catch (const kvlm::Error& e) {
    kvlm::fuzz::check_error(e, kTarget);
    return 0;
  }
  exercise(tok);
  return 0;
}
