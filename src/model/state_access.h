// The forward passes' and the state file's access to a State's cache and
// scratch buffers, which the public State keeps to itself.
#pragma once

#include "kvlm/state.h"
#include "model/scratch.h"

namespace kvlm::detail {

struct StateAccess {
  // Cache layout (num_layers, 1, num_kv_heads, max_ctx, head_dim), elements
  // of cache_dtype(); the start of one layer.
  static void* keys(State& s, int layer) { return s.keys(layer); }
  static void* values(State& s, int layer) { return s.values(layer); }
  static const void* keys(const State& s, int layer) { return s.keys(layer); }
  static const void* values(const State& s, int layer) { return s.values(layer); }
  static State::Scratch& scratch(State& s) { return *s.scratch_; }
  static void set_length(State& s, int n) { s.set_length(n); }
};

}  // namespace kvlm::detail
