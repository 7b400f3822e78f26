// kvlm synth: write a random-weight model of a real shape as a HF directory.
#include <cstdio>

#include "command.h"
#include "kvlm/synth.h"
#include "timing.h"

namespace kvlm::cli {
namespace {

const CommandRegistration registration{
    "synth", "Write a random-weight model of a named shape as a Hugging Face directory", [](CLI::App& sub) {
      auto o = std::make_shared<SynthOptions>();
      auto dtype = std::make_shared<std::string>("bf16");
      auto out = std::make_shared<std::string>();
      auto tokenizer = std::make_shared<std::string>();
      sub.add_option("--shape", o->shape, "llama-3.2-1b | qwen2.5-1.5b | tiny-llama | tiny-qwen2")->required();
      sub.add_option("--dtype", *dtype, "bf16 | f16 | f32")->check(CLI::IsMember({"bf16", "f16", "f32"}));
      sub.add_option("--seed", o->seed, "random seed");
      sub.add_option("--tokenizer", *tokenizer, "directory whose tokenizer files are copied in");
      sub.add_option("-o,--output", *out, "output directory")->required();
      return [o, dtype, out, tokenizer] {
        o->dtype = parse_dtype(*dtype);
        o->out_dir = *out;
        o->tokenizer_dir = *tokenizer;
        const auto t0 = Clock::now();
        synth_model(*o);
        const double s = ms_since(t0) / 1e3;
        std::fprintf(stderr, "wrote %s (%s, %s) in %.1f s\n", out->c_str(), o->shape.c_str(), dtype->c_str(), s);
        return 0;
      };
    }};

}  // namespace
}  // namespace kvlm::cli
