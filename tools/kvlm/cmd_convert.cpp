// kvlm convert: a Hugging Face directory or a GGUF to a .kvlm package in kernel layout.
#include <cstdio>

#include "command.h"
#include "kvlm/convert.h"
#include "kvlm/error.h"
#include "numeric_checks.h"
#include "progress_bar.h"
#include "timing.h"

namespace kvlm::cli {
namespace {

struct ConvertOptions {
  std::string input;
  std::string output;
  std::string dtype;
  int threads = 0;
  bool quiet = false;
};

int convert(const ConvertOptions& o) {
  const auto t0 = Clock::now();
  LoadOptions load;
  load.dtype = parse_dtype(o.dtype);
  load.threads = o.threads;
  ProgressBar bar("writing", !o.quiet);  // drawn only on a terminal; a log gets the start and end lines
  const auto model = convert_model(o.input, o.output, load, [&](std::size_t done, std::size_t total) {
    if (total == 0) {  // the load starts
      if (!o.quiet) std::fprintf(stderr, "loading %s as %s...\n", o.input.c_str(), o.dtype.c_str());
      return;
    }
    bar.update(done, total);
  });
  bar.finish();
  const double s = ms_since(t0) / 1e3;
  if (!o.quiet)
    std::fprintf(stderr, "wrote %s (%s, %.1f MB of weights) in %.1f s\n", o.output.c_str(), o.dtype.c_str(),
                 double(model->info().weight_bytes) / 1e6, s);
  return 0;
}

const CommandRegistration registration{
    "convert", "Convert a Hugging Face model directory or a GGUF into a .kvlm package (f32, f16, bf16, q8 or q4)", [](CLI::App& sub) {
      auto o = std::make_shared<ConvertOptions>();
      sub.add_option("input", o->input, "Hugging Face model directory or .gguf file")->required();
      sub.add_option("-o,--output", o->output, "output .kvlm file (written atomically)")->required();
      sub.add_option("--dtype", o->dtype, "f32 | f16 | bf16 | q8 | q4")
          ->required()
          ->check(CLI::IsMember({"f32", "f16", "bf16", "q8", "q4"}));
      add_threads_option(sub, o->threads);
      sub.add_flag("-q,--quiet", o->quiet, "no progress output");
      return [o] { return convert(*o); };
    }};

}  // namespace
}  // namespace kvlm::cli
