// Per-State activation buffers, grown on demand and reused across calls so a
// decode step allocates nothing.
#pragma once

#include <memory>
#include <vector>

#include "core/thread_pool.h"
#include "kvlm/state.h"

namespace kvlm {

struct State::Scratch {
  std::vector<float> x, xn, q, k, v, attn, gate, up, logits_in;
  std::vector<float> scores;  // [threads][heads / kv_heads][max_ctx]
  std::vector<float> rope_cos, rope_sin;  // [tokens][head_dim / 2]
  // The State's own compute threads (Model::new_state's `threads`), or null:
  // its forward calls take turns on the model's pool.
  std::unique_ptr<ThreadPool> pool;

  static void ensure(std::vector<float>& buf, std::size_t n) {
    if (buf.size() < n) buf.resize(n);
  }
};

}  // namespace kvlm
