// libFuzzer target: the bytes of a .kvlm package opened as a model, through
// the public entry points only (so that it follows format changes): Model::load
// (magic, version, header, config, generation config, the tensor table's
// names, formats, shapes and blob ranges), ModelFiles::open and the carried
// files (tokenizer.json, tokenizer_config.json, chat_template.jinja) as the CLI
// reads them. A kvlm::Error is the expected answer to a bad package; anything
// else is a finding. Seeds: tests/fuzz/make_seeds.py (micro models through
// kvlm convert).
//
// The header carries a checksum (io/package_format.h), which a mutated header
// would fail before it is parsed: for most inputs the target rewrites it to
// match, as a converter would, so that the parser behind it gets fuzzed. The
// last input byte is a flag byte: bit 0 asks for LoadOptions::verify (every
// blob's checksum); bits 1 and 2 both set leave the bytes as they are (a
// quarter of the inputs), so that the checksum check itself is fuzzed too.
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "fuzz_util.h"
#include "io/package_checksum.h"
#include "io/package_format.h"
#include "kvlm/chat_template.h"
#include "kvlm/model.h"
#include "kvlm/model_files.h"
#include "kvlm/tokenizer.h"

namespace {

constexpr const char* kTarget = "package_fuzz";

const kvlm::fuzz::ScratchDir& dir() {
  static const kvlm::fuzz::ScratchDir d("package");
  return d;
}

template <typename Fn>
void expect_error_or_success(Fn fn) {
  try {
    fn();
  } catch (const kvlm::Error& e) {
    kvlm::fuzz::check_error(e, kTarget);
  }
}

// Rewrites the header checksum after the header JSON, when the length field leaves room for it.
void fix_header_checksum(std::vector<std::uint8_t>& bytes) {
  namespace p = kvlm::package;
  if (bytes.size() < p::kPrefixBytes + p::kHeaderChecksumBytes) return;
  std::uint64_t header_len = 0;
  std::memcpy(&header_len, bytes.data() + 8, 8);
  if (header_len > bytes.size() - p::kPrefixBytes - p::kHeaderChecksumBytes) return;
  const std::size_t end = p::kPrefixBytes + std::size_t(header_len);
  const std::uint64_t sum = p::checksum(bytes.data(), end);
  std::memcpy(bytes.data() + end, &sum, 8);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = dir().path() / "model.kvlm";
  std::vector<std::uint8_t> bytes(data, data + size);
  const std::uint8_t flags = size > 0 ? data[size - 1] : 0;
  if ((flags & 6) != 6) fix_header_checksum(bytes);
  kvlm::fuzz::write_file(path, std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
  kvlm::LoadOptions options;
  options.threads = 1;
  options.weight_memory = kvlm::WeightMemory::mapped;
  options.verify = (flags & 1) != 0;
  expect_error_or_success([&] { (void)kvlm::inspect_model(path, options); });
  expect_error_or_success([&] {
    const auto model = kvlm::Model::load(path, options);
    kvlm::fuzz::check(model->info().tensor_count > 0, kTarget, "a model without tensors");
  });
  expect_error_or_success([&] {
    const kvlm::ModelFiles files = kvlm::ModelFiles::open(path);
    for (const char* name : {"config.json", "generation_config.json", "tokenizer_config.json"})
      (void)files.read(name);
    if (files.has("tokenizer.json")) expect_error_or_success([&] { (void)kvlm::Tokenizer::load(files)->vocab_size(); });
    expect_error_or_success([&] {
      const auto t = kvlm::ChatTemplate::load_if_present(files);
      if (t) (void)t->render({{"user", "hi"}}, true, {.date = "2026-07-04", .extra_json = ""});
    });
  });
  return 0;
}
