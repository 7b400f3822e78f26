// kvlm info: what a model holds and how kvlm will run it, from its headers alone.
#include <fmt/format.h>

#include "command.h"
#include "kvlm/error.h"
#include "kvlm/model_files.h"
#include "kvlm/providers.h"
#include "kvlm/system.h"
#include "kvlm/verify.h"
#include "model_options.h"

namespace kvlm::cli {
namespace {

const CommandRegistration registration{
    "info", "Describe a model from its headers (no weights loaded): config, tensors, sizes, kernels", [](CLI::App& sub) {
  auto o = std::make_shared<ModelOptions>();
  o->add_source_to(sub);
  sub.add_flag("--verify", o->verify, "also check every blob of a .kvlm package against its checksum (reads the whole file)");
  return [o] {
    const auto path = resolve_model(o->model);
    const ModelSummary s = inspect_model(path, o->load_options());
    const ModelConfig& c = s.config;
    std::string eos;
    for (int id : s.generation.eos_token_ids) eos += (eos.empty() ? "" : ", ") + std::to_string(id);
    fmt::print("model:            {}\n", o->model);
    fmt::print("format:           {} ({:.1f} MB)\n", s.format, double(s.file_bytes) / 1e6);
    fmt::print("architecture:     {}\n", c.architecture_name);
    fmt::print("layers:           {}\n", c.num_layers);
    fmt::print("hidden / inter:   {} / {}\n", c.hidden_size, c.intermediate_size);
    fmt::print("heads / kv / dim: {} / {} / {}\n", c.num_heads, c.num_kv_heads, c.head_dim);
    fmt::print("vocab:            {}\n", c.vocab_size);
    fmt::print("max positions:    {}\n", c.max_position_embeddings);
    fmt::print("rope:             theta {}{}\n", c.rope_theta,
               c.has_llama3_rope_scaling ? fmt::format(", llama3 scaling x{}", c.rope_scaling.factor)
               : c.rope_freq_factors.empty() ? ""
                                             : ", per-frequency factors (llama3 scaling from a GGUF)");
    fmt::print("tied embeddings:  {}\n", c.tie_word_embeddings ? "yes" : "no");
    fmt::print("qkv bias:         {}\n", c.attention_bias ? "yes" : "no");
    fmt::print("bos / eos:        {} / [{}]\n", s.generation.bos_token_id, eos);
    fmt::print("tensors:          {}\n", s.info.tensor_count);
    fmt::print("parameters:       {:.3f} M\n", double(s.info.parameter_count) / 1e6);
    fmt::print("stored as:        {}\n", s.stored_dtypes);
    fmt::print("weights:          {} ({:.1f} MB)\n", dtype_name(s.dtype), double(s.info.weight_bytes) / 1e6);
    fmt::print("kernels:          {}\n", kernel_isa_name());
    if (o->verify) {
      if (!is_package_file(path)) throw Error("--verify checks a .kvlm package; " + o->model + " is not one");
      const PackageVerification v = verify_package(path);
      fmt::print("checksums:        {}\n", v.ok() ? fmt::format("{} blobs OK", v.blobs)
                                                  : fmt::format("{} of {} blobs differ", v.corrupted.size(), v.blobs));
      if (!v.ok()) throw Error(o->model + ": checksum mismatch in " + v.corrupted.front());
    }
    return 0;
  };
}};

}  // namespace
}  // namespace kvlm::cli
