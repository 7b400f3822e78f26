// The fast forward pass: ops over SIMD kernels, threads across weight rows
// (matmuls) and across (token, KV head) groups of query heads (attention).
#include <algorithm>

#include "model/model_impl.h"
#include "model/rope.h"
#include "model/scratch.h"
#include "model/state_access.h"
#include "ops/ops.h"

namespace kvlm {

void forward_cpu(const Model::Impl& m, ThreadPool& pool, std::span<const std::int32_t> ids,
                 std::span<State* const> states, LogitsMode mode, std::vector<float>& logits) {
  const ModelConfig& c = m.config;
  const Weights& w = m.weights;
  const ops::Context ctx{*m.kernels, pool};
  const std::size_t T = ids.size(), H = std::size_t(c.hidden_size), D = std::size_t(c.head_dim);
  const std::size_t Hq = std::size_t(c.num_heads), Hkv = std::size_t(c.num_kv_heads);
  const std::size_t I = std::size_t(c.intermediate_size), V = std::size_t(c.vocab_size);
  // A prompt runs in one State from its length on; a batch of decode steps
  // runs token t in states[t] at that State's length.
  const bool batch = states.size() > 1;
  State& first = *states[0];
  const std::size_t start = std::size_t(first.length());
  auto state_of = [&](std::size_t t) -> State& { return batch ? *states[t] : first; };
  auto position = [&](std::size_t t) { return batch ? std::size_t(states[t]->length()) : start + t; };
  std::size_t max_ctx = 0;
  for (State* st : states) max_ctx = std::max(max_ctx, std::size_t(st->max_ctx()));
  const DType cache_dtype = first.cache_dtype();
  const std::size_t cache_elem = dtype_size(cache_dtype);

  State::Scratch& s = detail::StateAccess::scratch(first);
  using S = State::Scratch;
  S::ensure(s.x, T * H);
  S::ensure(s.xn, T * H);
  S::ensure(s.q, T * Hq * D);
  S::ensure(s.k, T * Hkv * D);
  S::ensure(s.v, T * Hkv * D);
  S::ensure(s.attn, T * Hq * D);
  S::ensure(s.gate, T * I);
  S::ensure(s.up, T * I);
  S::ensure(s.rope_cos, T * D / 2);
  S::ensure(s.rope_sin, T * D / 2);
  if (batch)
    for (std::size_t t = 0; t < T; ++t)
      rope_tables(m.inv_freq, int(position(t)), 1, s.rope_cos.data() + t * D / 2, s.rope_sin.data() + t * D / 2);
  else
    rope_tables(m.inv_freq, int(start), int(T), s.rope_cos.data(), s.rope_sin.data());

  ops::embed(w.embed, ids.data(), T, s.x.data());
  const float eps = float(c.rms_norm_eps);
  const ops::AttentionShape shape{T, start, Hq, Hkv, D, max_ctx};
  S::ensure(s.scores, ops::attention_scratch_floats(shape, pool));

  for (int l = 0; l < c.num_layers; ++l) {
    const LayerWeights& lw = w.layers[std::size_t(l)];
    ops::rmsnorm(s.x.data(), lw.attn_norm.data(), s.xn.data(), T, H, eps);
    auto bias = [](const std::vector<float>& b) { return b.empty() ? nullptr : b.data(); };
    const ops::MatmulOut qkv[] = {{&lw.q, s.q.data(), bias(lw.q_bias)},
                                  {&lw.k, s.k.data(), bias(lw.k_bias)},
                                  {&lw.v, s.v.data(), bias(lw.v_bias)}};
    ops::matmul_fused(ctx, s.xn.data(), T, qkv);
    ops::rope(s.q.data(), T, Hq, D, s.rope_cos.data(), s.rope_sin.data());
    ops::rope(s.k.data(), T, Hkv, D, s.rope_cos.data(), s.rope_sin.data());

    // Append K/V: cache rows are [kv_head][position][head_dim].
    for (std::size_t t = 0; t < T; ++t) {
      State& st = state_of(t);
      auto* keys = static_cast<std::byte*>(detail::StateAccess::keys(st, l));
      auto* values = static_cast<std::byte*>(detail::StateAccess::values(st, l));
      for (std::size_t g = 0; g < Hkv; ++g) {
        const std::size_t at = (g * std::size_t(st.max_ctx()) + position(t)) * D * cache_elem;
        ops::store_rows(ctx, s.k.data() + (t * Hkv + g) * D, keys + at, cache_dtype, D);
        ops::store_rows(ctx, s.v.data() + (t * Hkv + g) * D, values + at, cache_dtype, D);
      }
    }

    if (batch) {
      // Each decode step attends over its own State: the same call as its
      // forward() alone would make.
      for (std::size_t t = 0; t < T; ++t) {
        State& st = *states[t];
        const ops::AttentionShape one{1, position(t), Hq, Hkv, D, std::size_t(st.max_ctx())};
        ops::attention(ctx, one, s.q.data() + t * Hq * D, detail::StateAccess::keys(st, l), detail::StateAccess::values(st, l), cache_dtype,
                       s.attn.data() + t * Hq * D, s.scores.data());
      }
    } else {
      ops::attention(ctx, shape, s.q.data(), detail::StateAccess::keys(first, l), detail::StateAccess::values(first, l), cache_dtype, s.attn.data(),
                     s.scores.data());
    }
    ops::matmul(ctx, s.attn.data(), T, lw.o, s.xn.data(), bias(lw.o_bias));
    ops::add(s.x.data(), s.xn.data(), T * H);

    ops::rmsnorm(s.x.data(), lw.mlp_norm.data(), s.xn.data(), T, H, eps);
    const ops::MatmulOut gate_up[] = {{&lw.gate, s.gate.data()}, {&lw.up, s.up.data()}};
    ops::matmul_fused(ctx, s.xn.data(), T, gate_up);
    ops::silu_mul(ctx, s.gate.data(), s.up.data(), T * I);
    ops::matmul(ctx, s.gate.data(), T, lw.down, s.xn.data());
    ops::add(s.x.data(), s.xn.data(), T * H);
  }

  // Only the rows whose logits are wanted go through the final norm and lm_head.
  const std::size_t first_out = mode == LogitsMode::all ? 0 : T - 1;
  const std::size_t n_out = T - first_out;
  ops::rmsnorm(s.x.data() + first_out * H, w.final_norm.data(), s.xn.data(), n_out, H, eps);
  logits.resize(n_out * V);
  ops::matmul(ctx, s.xn.data(), n_out, w.lm_head, logits.data());
}

}  // namespace kvlm
