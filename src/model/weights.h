// The model's weights in the compute dtype, checked against the config.
// Matrices whose checkpoint dtype equals the compute dtype point straight
// into the mmapped file (no copy); others are converted once.
// Norm weights and biases are always f32.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/large_buffer.h"
#include "kvlm/config.h"
#include "kvlm/dtype.h"
#include "core/matrix_view.h"

namespace kvlm {

class ThreadPool;
class TensorSource;
struct KernelTable;

using WeightMatrix = MatrixView;

struct LayerWeights {
  std::vector<float> attn_norm;  // [hidden]
  std::vector<float> mlp_norm;   // [hidden]
  WeightMatrix q, k, v, o;       // [heads*head_dim][hidden], [kv*head_dim][hidden] x2, [hidden][heads*head_dim]
  std::vector<float> q_bias, k_bias, v_bias, o_bias;  // empty when the model has none
  WeightMatrix gate, up, down;   // [inter][hidden] x2, [hidden][inter]
};

struct Weights {
  WeightMatrix embed;    // [vocab][hidden]
  WeightMatrix lm_head;  // [vocab][hidden]; the same data as embed when tied
  std::vector<float> final_norm;
  std::vector<LayerWeights> layers;

  std::uint64_t parameter_count = 0;
  std::uint64_t matrix_bytes = 0;
  std::size_t tensor_count = 0;

  // Keeps converted buffers and the mapped file alive.
  std::vector<LargeBuffer> owned;
  std::shared_ptr<const void> keep_alive;
};

// One named tensor of the model (Hugging Face names), with its shape and the
// field of Weights it fills: a matrix ([rows, cols]) or an f32 vector ([n]).
struct WeightSlot {
  std::string name;
  std::vector<std::int64_t> shape;
  WeightMatrix* matrix;
  std::vector<float>* vector;
};

// Every tensor the config implies, in checkpoint order (lm_head only when not
// tied), pointing into `w` (whose layers it sizes).
std::vector<WeightSlot> weight_slots(Weights& w, const ModelConfig& config);

// Loads and validates every tensor the config implies (presence, shape, dtype,
// bounds) before converting any of them.
// use_mmap false copies matrices already in the compute dtype into huge-page
// memory instead of pointing into the file (WeightMemory::copied).
Weights load_weights(std::shared_ptr<TensorSource> source, const ModelConfig& config, DType compute, bool use_mmap,
                     const KernelTable& kernels, ThreadPool& pool);

}  // namespace kvlm
