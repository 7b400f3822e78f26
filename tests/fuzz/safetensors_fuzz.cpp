// libFuzzer target: the bytes of a model.safetensors through the header
// parser (SafetensorsFile), then as the weights of a tiny Llama directory
// through Model::load, which checks the tensor table against config.json
// (names, shapes, dtypes). A kvlm::Error is the expected answer to a bad
// file; anything else (another exception, a sanitizer report, a tensor outside
// the mapping) is a finding. Seeds: tests/fuzz/make_seeds.py.
#include <cstdint>
#include <string>

#include "fuzz_util.h"
#include "io/safetensors.h"
#include "kvlm/model.h"

namespace {

constexpr const char* kTarget = "safetensors_fuzz";

// The micro Llama of make_seeds.py (1 layer, hidden 32, vocab 16, tied head).
constexpr const char* kConfig = R"({"architectures": ["LlamaForCausalLM"], "hidden_size": 32,
  "intermediate_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2, "num_key_value_heads": 1,
  "head_dim": 16, "vocab_size": 16, "max_position_embeddings": 64, "rms_norm_eps": 1e-05,
  "tie_word_embeddings": true, "bos_token_id": 1, "eos_token_id": 2})";

const kvlm::fuzz::ScratchDir& dir() {
  static const kvlm::fuzz::ScratchDir d("safetensors");
  static const bool ready = (kvlm::fuzz::write_file(d.path() / "config.json", kConfig), true);
  (void)ready;
  return d;
}

std::size_t element_size(const std::string& dtype) {
  if (dtype == "F64" || dtype == "I64" || dtype == "U64") return 8;
  if (dtype == "F32" || dtype == "I32" || dtype == "U32") return 4;
  if (dtype == "F16" || dtype == "BF16" || dtype == "I16" || dtype == "U16") return 2;
  return 1;
}

// The header's promises: every tensor inside the file's data section, its
// byte size that of its shape and dtype.
void check_tensors(const kvlm::SafetensorsFile& f) {
  const std::byte* begin = f.file().data();
  const std::byte* end = begin + f.file().size();
  for (const auto& [name, t] : f.tensors()) {
    kvlm::fuzz::check(t.name == name && t.file == &f.file(), kTarget, "tensor table entry mismatch");
    kvlm::fuzz::check(t.data >= begin + 8 && t.data <= end && t.nbytes <= std::size_t(end - t.data), kTarget,
                      "tensor " + name + " outside the file");
    std::uint64_t numel = 1;
    for (const std::int64_t d : t.shape) {
      kvlm::fuzz::check(d >= 0, kTarget, "negative dimension");
      numel *= std::uint64_t(d);
    }
    kvlm::fuzz::check(numel * element_size(t.dtype_name) == t.nbytes, kTarget, "tensor " + name + " size mismatch");
    kvlm::fuzz::check(std::uint64_t(t.numel()) == numel, kTarget, "numel() mismatch");
    // Touch the first and last byte: outside the mapping is a fault.
    if (t.nbytes) {
      volatile std::byte first = t.data[0], last = t.data[t.nbytes - 1];
      (void)first;
      (void)last;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = dir().path() / "model.safetensors";
  kvlm::fuzz::write_file(path, std::string_view(reinterpret_cast<const char*>(data), size));
  try {
    const kvlm::SafetensorsFile f(path);
    check_tensors(f);
  } catch (const kvlm::Error& e) {
    kvlm::fuzz::check_error(e, kTarget);
    return 0;
  }
  try {
    kvlm::LoadOptions options;
    options.dtype = kvlm::DType::f32;
    options.threads = 1;
    options.weight_memory = kvlm::WeightMemory::mapped;
    const auto model = kvlm::Model::load(dir().path(), options);
    kvlm::fuzz::check(model->info().tensor_count > 0, kTarget, "a model without tensors");
  } catch (const kvlm::Error& e) {
    kvlm::fuzz::check_error(e, kTarget);
  }
  return 0;
}
