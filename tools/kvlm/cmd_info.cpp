// kvlm info: what a model directory holds and how kvlm will run it.
#include <fmt/format.h>

#include "command.h"
#include "kvlm/providers.h"
#include "kvlm/system.h"
#include "model_options.h"

namespace kvlm::cli {
namespace {

const CommandRegistration registration{"info", "Describe a model: config, tensors, sizes, kernels", [](CLI::App& sub) {
  auto o = std::make_shared<ModelOptions>();
  o->add_to(sub);
  return [o] {
    const auto model = Model::load(resolve_model(o->model), o->load_options());
    const ModelConfig& c = model->config();
    const ModelInfo info = model->info();
    std::string eos;
    for (int id : model->generation_config().eos_token_ids) eos += (eos.empty() ? "" : ", ") + std::to_string(id);
    fmt::print("model:            {}\n", o->model);
    fmt::print("architecture:     {}\n", c.architecture_name);
    fmt::print("layers:           {}\n", c.num_layers);
    fmt::print("hidden / inter:   {} / {}\n", c.hidden_size, c.intermediate_size);
    fmt::print("heads / kv / dim: {} / {} / {}\n", c.num_heads, c.num_kv_heads, c.head_dim);
    fmt::print("vocab:            {}\n", c.vocab_size);
    fmt::print("max positions:    {}\n", c.max_position_embeddings);
    fmt::print("rope:             theta {}{}\n", c.rope_theta,
               c.has_llama3_rope_scaling ? fmt::format(", llama3 scaling x{}", c.rope_scaling.factor) : "");
    fmt::print("tied embeddings:  {}\n", c.tie_word_embeddings ? "yes" : "no");
    fmt::print("qkv bias:         {}\n", c.attention_bias ? "yes" : "no");
    fmt::print("bos / eos:        {} / [{}]\n", model->generation_config().bos_token_id, eos);
    fmt::print("tensors:          {}\n", info.tensor_count);
    fmt::print("parameters:       {:.3f} M\n", double(info.parameter_count) / 1e6);
    fmt::print("weights:          {} ({:.1f} MB)\n", dtype_name(model->dtype()), double(info.weight_bytes) / 1e6);
    fmt::print("kernels:          {}\n", kernel_isa_name());
    return 0;
  };
}};

}  // namespace
}  // namespace kvlm::cli
