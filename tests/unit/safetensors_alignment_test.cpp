// Safetensors promises no alignment: a tensor whose data starts at an odd
// offset must not be read in place as floats (kernels load whole elements).
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <unistd.h>

#include "kvlm/model.h"
#include "model/tensor_source.h"
#include "test_models.h"

namespace kvlm {
namespace {

namespace fs = std::filesystem;

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A copy of a synth model whose tensor data starts at an odd file offset
// (the header padded with spaces, as writers do to align it).
fs::path odd_offset_copy(DType dtype) {
  const fs::path src = testing::synth_model_dir("tiny-llama", dtype);
  const fs::path dir = fs::path(::testing::TempDir()) /
                       ("kvlm-odd-" + std::to_string(::getpid()) + "-" + std::string(dtype_name(dtype)));
  fs::remove_all(dir);
  fs::create_directories(dir);
  for (const char* f : {"config.json", "generation_config.json"}) fs::copy_file(src / f, dir / f);
  const std::string file = read_all(src / "model.safetensors");
  std::uint64_t n = 0;
  std::memcpy(&n, file.data(), 8);
  std::string header = file.substr(8, n);
  while ((8 + header.size()) % 8 != 1) header += ' ';
  const std::uint64_t padded = header.size();
  std::ofstream out(dir / "model.safetensors", std::ios::binary);
  out.write(reinterpret_cast<const char*>(&padded), 8);
  out << header << file.substr(8 + n);
  return dir;
}

std::vector<float> logits(const fs::path& dir, DType compute) {
  LoadOptions o;
  o.dtype = compute;
  o.threads = 2;
  const auto model = Model::load(dir, o);
  State state = model->new_state(64);
  const std::vector<std::int32_t> ids = {1, 17, 200, 33, 5, 411};
  return model->forward(ids, state, LogitsMode::all);
}

TEST(SafetensorsAlignment, SourceHandsOutAlignedElements) {
  for (DType d : {DType::f32, DType::bf16}) {
    const auto source = safetensors_source(odd_offset_copy(d));
    for (const char* name : {"model.embed_tokens.weight", "model.norm.weight", "model.layers.0.self_attn.q_proj.weight"}) {
      const SourceTensorData t = source->data(name);
      EXPECT_EQ(reinterpret_cast<std::uintptr_t>(t.data) % dtype_size(t.dtype), 0u) << name << " " << dtype_name(d);
      source->release(name);
    }
  }
}

TEST(SafetensorsAlignment, OddOffsetGivesTheAlignedLogits) {
  struct Case { DType weights, compute; };
  for (const Case c : {Case{DType::f32, DType::f32}, Case{DType::f32, DType::f16}, Case{DType::bf16, DType::bf16},
                       Case{DType::bf16, DType::q8}}) {
    const auto aligned = logits(testing::synth_model_dir("tiny-llama", c.weights), c.compute);
    const auto odd = logits(odd_offset_copy(c.weights), c.compute);
    EXPECT_EQ(aligned, odd) << dtype_name(c.weights) << " -> " << dtype_name(c.compute);
  }
}

}  // namespace
}  // namespace kvlm
