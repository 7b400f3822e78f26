#include "kvlm/convert.h"

#include <unistd.h>

#include "kvlm/error.h"
#include "kvlm/model_files.h"
#include "model/package_weights.h"

namespace kvlm {

std::shared_ptr<const Model> convert_model(const std::filesystem::path& input, const std::filesystem::path& output,
                                           const LoadOptions& load, const ConvertProgress& progress) {
  if (output.empty()) throw Error("convert needs an output path");
  const ModelFiles source = ModelFiles::open(input);
  if (source.is_package()) throw Error(input.string() + " is already a .kvlm package");
  if (!load.dtype) throw Error("convert needs a dtype (f32, f16, bf16, q8 or q4)");
  // Fail before the (slow) load when the output cannot be written.
  const auto parent = std::filesystem::absolute(output).parent_path();
  if (!std::filesystem::is_directory(parent)) throw Error("output directory does not exist: " + parent.string());
  if (::access(parent.c_str(), W_OK) != 0) throw Error("output directory is not writable: " + parent.string());
  if (std::filesystem::is_directory(output)) throw Error("output is a directory: " + output.string());
  std::error_code ec;
  if (std::filesystem::equivalent(input, output, ec))
    throw Error("output " + output.string() + " is the input: the package would replace its source");
  const ConvertProgress report = progress ? progress : ConvertProgress([](std::size_t, std::size_t) {});
  report(0, 0);
  auto model = Model::load(input, load);
  write_package(*model, source, output, report);
  return model;
}

}  // namespace kvlm
