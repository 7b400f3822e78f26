// Random-weight models of real shapes, written as Hugging Face directories,
// so every code path (and full-size benchmarks) runs without downloads.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "kvlm/dtype.h"

namespace kvlm {

struct SynthOptions {
  std::string shape = "tiny-llama";  // llama-3.2-1b | qwen2.5-1.5b | tiny-llama | tiny-qwen2
  DType dtype = DType::bf16;
  std::uint64_t seed = 0;
  std::filesystem::path tokenizer_dir;  // optional: tokenizer files copied in
  std::filesystem::path out_dir;
  int threads = 0;
};

std::vector<std::string> synth_shapes();
// Throws Error, before writing anything, for a dtype other than f32 / f16 /
// bf16, an unknown shape, an empty out_dir or one that is a file, and a
// tokenizer_dir without tokenizer.json.
void synth_model(const SynthOptions& options);

}  // namespace kvlm
