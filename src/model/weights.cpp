#include "model/weights.h"

#include <algorithm>
#include <string>

#include "kernels/kernels.h"
#include "core/thread_pool.h"
#include "core/large_buffer.h"
#include "model/tensor_source.h"
#include "quant/quant_formats.h"
#include "kvlm/error.h"

namespace kvlm {

namespace {

std::string shape_string(const std::vector<std::int64_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

class Loader {
 public:
  Loader(std::shared_ptr<TensorSource> source, DType compute, bool use_mmap, const KernelTable& kernels,
         ThreadPool& pool, Weights& w)
      : source_(std::move(source)),
        compute_(compute),
        use_mmap_(use_mmap),
        kernels_(kernels),
        pool_(pool),
        w_(w) {
    w_.keep_alive = source_;
  }

  // Checks presence, rank, shape and dtype; returns the element count.
  std::int64_t check(const std::string& name, const std::vector<std::int64_t>& shape) {
    const SourceTensorInfo t = source_->info(name);
    if (!t.readable) throw Error("tensor " + name + " has dtype " + t.dtype_name + " (expected F32, F16 or BF16)");
    if (t.shape != shape)
      throw Error("tensor " + name + " has shape " + shape_string(t.shape) + ", expected " + shape_string(shape));
    std::int64_t n = 1;
    for (const std::int64_t d : shape) n *= d;
    return n;
  }

  // output: the matrix that makes the logits (lm_head, or the tied embedding).
  WeightMatrix matrix(const std::string& name, std::int64_t rows, std::int64_t cols, bool output) {
    check(name, {rows, cols});
    const SourceTensorData t = source_->data(name);
    if (is_quantized(compute_)) return quantized(name, t, std::size_t(rows), std::size_t(cols), output);
    WeightMatrix m{compute_, std::size_t(rows), std::size_t(cols), nullptr};
    const DType src = t.dtype;
    if (src == compute_ && use_mmap_ && t.in_file) {
      m.data = t.data;
    } else {
      LargeBuffer buf(m.bytes());
      const std::byte* from = t.data;
      std::byte* to = buf.data();
      const ConvertFn convert = kernels_.convert[int(src)][int(compute_)];
      const std::size_t src_size = dtype_size(src), dst_size = dtype_size(compute_);
      pool_.parallel_for(std::size_t(rows * cols), 1 << 16, [&](int, std::size_t b, std::size_t e) {
        convert(from + b * src_size, to + b * dst_size, e - b);
      });
      source_->release(name);  // the source pages are not needed any more
      m.data = buf.data();
      w_.owned.push_back(std::move(buf));
    }
    w_.matrix_bytes += m.bytes();
    return m;
  }

  // Quantizes a checkpoint matrix row by row. q4 needs whole 16-row blocks
  // and 32-column groups; a matrix without them (only tiny test shapes)
  // falls back to q8, which pads its last row block. q4 keeps the output
  // matrix in q8, as llama.cpp's Q4 files keep theirs in Q6_K or Q8_0: the
  // logits are the error that reaches every token (docs/PERF.md).
  WeightMatrix quantized(const std::string& name, const SourceTensorData& t, std::size_t rows, std::size_t cols,
                         bool output) {
    if (!quant::q8_fits(cols))
      throw Error("tensor " + name + ": q8 and q4 need a column count divisible by 4 (it has " +
                  std::to_string(cols) + "); use --dtype f16 or bf16");
    const DType format = compute_ == DType::q4 && quant::q4_fits(rows, cols) && !output ? DType::q4 : DType::q8;
    WeightMatrix m{format, rows, cols, nullptr};
    LargeBuffer buf(m.bytes());  // zeroed: q8's padding rows keep bytes 0 and scale 0
    std::byte* base = buf.data();
    m.data = base;
    const DType src = t.dtype;
    const ConvertFn widen = kernels_.convert[int(src)][int(DType::f32)];
    pool_.parallel_for(rows, 16, [&](int, std::size_t r0, std::size_t r1) {
      std::vector<float> row(cols);
      for (std::size_t r = r0; r < r1; ++r) {
        widen(t.data + r * cols * dtype_size(src), row.data(), cols);
        if (format == DType::q8)
          quant::quantize_row_q8(row.data(), cols, r, reinterpret_cast<std::uint8_t*>(base));
        else
          quant::quantize_row_q4(row.data(), rows, cols, r, reinterpret_cast<std::uint8_t*>(base));
      }
    });
    source_->release(name);
    w_.matrix_bytes += m.bytes();
    w_.owned.push_back(std::move(buf));
    return m;
  }

  std::vector<float> vector(const std::string& name, std::int64_t n) {
    check(name, {n});
    const SourceTensorData t = source_->data(name);
    std::vector<float> out(static_cast<std::size_t>(n));
    kernels_.convert[int(t.dtype)][int(DType::f32)](t.data, out.data(), out.size());
    if (!t.in_file) source_->release(name);
    return out;
  }

 private:
  std::shared_ptr<TensorSource> source_;
  DType compute_;
  bool use_mmap_;
  const KernelTable& kernels_;
  ThreadPool& pool_;
  Weights& w_;
};

}  // namespace

std::vector<WeightSlot> weight_slots(Weights& w, const ModelConfig& c) {
  const std::int64_t H = c.hidden_size, I = c.intermediate_size, V = c.vocab_size;
  const std::int64_t q_dim = std::int64_t(c.num_heads) * c.head_dim, kv_dim = std::int64_t(c.num_kv_heads) * c.head_dim;
  w.layers.resize(std::size_t(c.num_layers));
  std::vector<WeightSlot> slots;
  auto matrix = [&](std::string name, std::int64_t rows, std::int64_t cols, WeightMatrix* m) {
    slots.push_back({std::move(name), {rows, cols}, m, nullptr});
  };
  auto vector = [&](std::string name, std::int64_t n, std::vector<float>* v) {
    slots.push_back({std::move(name), {n}, nullptr, v});
  };
  matrix("model.embed_tokens.weight", V, H, &w.embed);
  if (!c.tie_word_embeddings) matrix("lm_head.weight", V, H, &w.lm_head);
  vector("model.norm.weight", H, &w.final_norm);
  for (int l = 0; l < c.num_layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    LayerWeights& lw = w.layers[std::size_t(l)];
    vector(p + "input_layernorm.weight", H, &lw.attn_norm);
    vector(p + "post_attention_layernorm.weight", H, &lw.mlp_norm);
    matrix(p + "self_attn.q_proj.weight", q_dim, H, &lw.q);
    matrix(p + "self_attn.k_proj.weight", kv_dim, H, &lw.k);
    matrix(p + "self_attn.v_proj.weight", kv_dim, H, &lw.v);
    matrix(p + "self_attn.o_proj.weight", H, q_dim, &lw.o);
    if (c.attention_bias) {
      vector(p + "self_attn.q_proj.bias", q_dim, &lw.q_bias);
      vector(p + "self_attn.k_proj.bias", kv_dim, &lw.k_bias);
      vector(p + "self_attn.v_proj.bias", kv_dim, &lw.v_bias);
    }
    if (c.o_proj_bias) vector(p + "self_attn.o_proj.bias", H, &lw.o_bias);
    matrix(p + "mlp.gate_proj.weight", I, H, &lw.gate);
    matrix(p + "mlp.up_proj.weight", I, H, &lw.up);
    matrix(p + "mlp.down_proj.weight", H, I, &lw.down);
  }
  return slots;
}

Weights load_weights(std::shared_ptr<TensorSource> source, const ModelConfig& c, DType compute, bool use_mmap,
                     const KernelTable& kernels, ThreadPool& pool) {
  Weights w;
  Loader load(std::move(source), compute, use_mmap, kernels, pool, w);
  const std::vector<WeightSlot> slots = weight_slots(w, c);
  // Validate every tensor before the (slow) conversions start, so a bad file fails fast.
  for (const WeightSlot& slot : slots) {
    ++w.tensor_count;
    w.parameter_count += std::uint64_t(load.check(slot.name, slot.shape));
  }
  for (const WeightSlot& slot : slots) {
    const bool output = slot.matrix == &w.lm_head || (c.tie_word_embeddings && slot.matrix == &w.embed);
    if (slot.matrix)
      *slot.matrix = load.matrix(slot.name, slot.shape[0], slot.shape[1], output);
    else
      *slot.vector = load.vector(slot.name, slot.shape[0]);
  }
  if (c.tie_word_embeddings) w.lm_head = w.embed;
  return w;
}

}  // namespace kvlm
