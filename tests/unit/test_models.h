// Random tiny models written once per test binary run (kvlm synth) for tests
// that need a real model directory.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <string>

#include <unistd.h>

#include "kvlm/model.h"
#include "kvlm/synth.h"

namespace kvlm::testing {

// The directory of a synth model of `shape` with `dtype` weights (seed 11),
// created on first use under the gtest temp dir.
inline std::filesystem::path synth_model_dir(const std::string& shape, DType dtype) {
  static std::map<std::string, std::filesystem::path> made;
  const std::string key = shape + "-" + std::string(dtype_name(dtype));
  if (auto it = made.find(key); it != made.end()) return it->second;
  // Per process: CTest runs test cases as parallel processes.
  const auto dir = std::filesystem::path(::testing::TempDir()) / ("kvlm-synth-" + std::to_string(::getpid()) + "-" + key);
  SynthOptions o;
  o.shape = shape;
  o.dtype = dtype;
  o.seed = 11;
  o.out_dir = dir;
  synth_model(o);
  return made[key] = dir;
}

// The tiny-llama synth model loaded as q8 on 2 threads (the quantized
// kernels' batch paths), for the concurrency tests.
inline std::shared_ptr<const Model> tiny_q8_model() {
  LoadOptions lo;
  lo.dtype = DType::q8;
  lo.threads = 2;
  return Model::load(synth_model_dir("tiny-llama", DType::f32), lo);
}

}  // namespace kvlm::testing
