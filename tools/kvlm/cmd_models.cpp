// kvlm list / kvlm rm: the models installed where kv:NAME ids resolve.
#include <cstdio>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "command.h"
#include "kvlm/error.h"
#include "kvlm/providers.h"
#include "model_store.h"
#include "download_progress.h"

namespace kvlm::cli {
namespace {

namespace fs = std::filesystem;

int list(bool json) {
  const fs::path dir = models_dir();
  const auto models = list_models(dir);
  if (json) {
    auto out = nlohmann::json::array();
    for (const auto& m : models)
      out.push_back({{"name", m.name}, {"format", m.format}, {"bytes", m.bytes}, {"path", m.path.string()}});
    std::printf("%s\n", out.dump(2).c_str());
    return 0;
  }
  if (models.empty()) {
    std::fprintf(stderr, "no models in %s (kvlm pull NAME fetches one)\n", dir.c_str());
    return 0;
  }
  std::size_t name_width = 4;
  for (const auto& m : models) name_width = std::max(name_width, m.name.size());
  fmt::print("{:<{}}  {:<11}  {:>9}  {}\n", "NAME", name_width, "FORMAT", "SIZE", "PATH");
  for (const auto& m : models)
    fmt::print("{:<{}}  {:<11}  {:>9}  {}\n", m.name, name_width, m.format, human_bytes(m.bytes), m.path.string());
  return 0;
}

// Removes what kv:NAME resolves to (NAME/, NAME.kvlm or NAME.gguf, the first
// there) and any partial pull of that name.
int remove_model(std::string name) {
  if (name.starts_with("kv:")) name = name.substr(3);
  if (!valid_model_name(name)) throw Error("'" + name + "' is not a model name (kvlm list shows them)");
  const fs::path dir = models_dir();
  std::vector<fs::path> removed;
  const auto remove_path = [&](const fs::path& p) {
    std::error_code ec;
    if (!fs::exists(fs::symlink_status(p, ec))) return false;
    fs::remove_all(p, ec);
    if (ec) throw Error("cannot remove " + p.string() + ": " + ec.message());
    removed.push_back(p);
    return true;
  };
  const auto candidates = model_candidates(dir, name);
  for (const auto& c : candidates)
    if (remove_path(c)) break;
  for (const auto& entry : {name, name + ".gguf"}) remove_path(staging_dir(dir, entry));
  if (removed.empty()) throw Error("no model " + name + " in " + dir.string() + " (kvlm list shows what is there)");
  for (const auto& p : removed) std::printf("removed %s\n", p.c_str());
  for (const auto& c : candidates)
    if (std::error_code ec; fs::exists(fs::symlink_status(c, ec))) {
      std::fprintf(stderr, "kv:%s now resolves to %s\n", name.c_str(), c.c_str());
      break;
    }
  return 0;
}

const CommandRegistration list_registration{
    "list", "List the models in the models directory ($KVLM_MODELS): name, format, size, path", [](CLI::App& sub) {
      auto json = std::make_shared<bool>(false);
      sub.add_flag("--json", *json, "print a JSON array of {name, format, bytes, path}");
      return [json] { return list(*json); };
    }};

const CommandRegistration rm_registration{
    "rm", "Remove a model (what kv:NAME resolves to) and any partial download of it", [](CLI::App& sub) {
      auto name = std::make_shared<std::string>();
      sub.add_option("name", *name, "the model's NAME, as kvlm list shows it")->required();
      return [name] { return remove_model(*name); };
    }};

}  // namespace
}  // namespace kvlm::cli
