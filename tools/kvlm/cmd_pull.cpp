// kvlm pull: download a model from the Hugging Face hub into the models
// directory, as NAME/ (config, tokenizer and safetensors files) or NAME.gguf,
// so that -m kv:NAME finds it. Every file is checked against the hub's
// sha256 (LFS) or git blob id before it gets its final name.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "command.h"
#include "download.h"
#include "hub_client.h"
#include "kvlm/error.h"
#include "kvlm/providers.h"
#include "model_store.h"
#include "numeric_checks.h"

namespace kvlm::cli {
namespace {

namespace fs = std::filesystem;

// Short names for the models kvlm is made for; each is its repository's last
// component, lowercased, as any REPO pull would name it.
struct Alias {
  std::string_view name, repo;
};
constexpr Alias kAliases[] = {
    {"llama-3.2-1b-instruct", "meta-llama/Llama-3.2-1B-Instruct"},
    {"llama-3.2-3b-instruct", "meta-llama/Llama-3.2-3B-Instruct"},
    {"smollm2-135m-instruct", "HuggingFaceTB/SmolLM2-135M-Instruct"},
    {"smollm2-360m-instruct", "HuggingFaceTB/SmolLM2-360M-Instruct"},
    {"smollm2-1.7b-instruct", "HuggingFaceTB/SmolLM2-1.7B-Instruct"},
    {"qwen2.5-0.5b-instruct", "Qwen/Qwen2.5-0.5B-Instruct"},
    {"qwen2.5-1.5b-instruct", "Qwen/Qwen2.5-1.5B-Instruct"},
};

// The files of a safetensors repository that a kvlm model directory uses
// (besides the weights); only config.json is required.
constexpr std::string_view kModelFiles[] = {
    "config.json",           "generation_config.json",  "tokenizer.json",    "tokenizer_config.json",
    "special_tokens_map.json", "chat_template.jinja",
};
constexpr std::string_view kIndex = "model.safetensors.index.json";
constexpr std::string_view kSingleWeights = "model.safetensors";
constexpr std::string_view kCommitMarker = ".commit";

struct PullOptions {
  std::string spec;
  std::string revision = "main";
  std::string name;
  int retries = 4;
};

struct PullPlan {
  std::string repo;
  std::string gguf_file;  // empty: a safetensors repository
  std::string name;       // kv:NAME
  std::string entry() const { return gguf_file.empty() ? name : name + ".gguf"; }
};

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return s;
}

std::string alias_names() {
  std::string s;
  for (const auto& a : kAliases) s += (s.empty() ? "" : ", ") + std::string(a.name);
  return s;
}

// A file name the index may give: a plain name in the repository's root.
bool plain_file_name(const std::string& f) {
  return !f.empty() && f.front() != '.' && f.find('/') == std::string::npos && f.find('\\') == std::string::npos;
}

PullPlan plan_from_spec(const PullOptions& o) {
  PullPlan p;
  std::string spec = o.spec.starts_with("kv:") ? o.spec.substr(3) : o.spec;
  if (spec.find('/') == std::string::npos) {
    const auto a = std::find_if(std::begin(kAliases), std::end(kAliases), [&](const Alias& x) { return x.name == lower(spec); });
    if (a == std::end(kAliases))
      throw Error("unknown model '" + spec + "': give a Hugging Face repository (OWNER/NAME, or OWNER/NAME:FILE.gguf) or one of " +
                  alias_names());
    p.repo = a->repo;
  } else {
    const auto colon = spec.find(':');
    p.repo = spec.substr(0, colon);
    if (colon != std::string::npos) {
      p.gguf_file = spec.substr(colon + 1);
      if (!lower(p.gguf_file).ends_with(".gguf"))
        throw Error("'" + p.gguf_file + "' is not a .gguf file: REPO:FILE pulls one GGUF file; pull REPO alone for safetensors");
    }
  }
  if (!valid_repo_id(p.repo)) throw Error("'" + p.repo + "' is not a Hugging Face repository id (OWNER/NAME)");
  if (!o.name.empty()) {
    p.name = o.name;
  } else if (p.gguf_file.empty()) {
    p.name = lower(p.repo.substr(p.repo.find('/') + 1));
  } else {
    const std::string base = p.gguf_file.substr(p.gguf_file.rfind('/') + 1);
    p.name = lower(base.substr(0, base.size() - 5));
  }
  if (!valid_model_name(p.name)) throw Error("'" + p.name + "' cannot be a model name (kv:NAME: no '/', no leading '.')");
  return p;
}

std::string gguf_hint(const RepoInfo& info) {
  std::vector<std::string> ggufs;
  for (const auto& f : info.files)
    if (lower(f.name).ends_with(".gguf")) ggufs.push_back(f.name);
  if (ggufs.empty()) return "";
  std::string s = "; it holds GGUF files: pull one as " + info.repo + ":" + ggufs.front();
  if (ggufs.size() > 1) s += fmt::format(" ({} more)", ggufs.size() - 1);
  return s;
}

// The directory a pull writes into, locked against a second pull of the
// same entry; it remembers the commit its files belong to.
class Staging {
 public:
  Staging(const fs::path& models, const std::string& entry, const std::string& commit)
      : path_(staging_dir(models, entry)) {
    std::error_code ec;
    fs::create_directory(path_, ec);
    if (ec) throw Error("cannot create " + path_.string() + ": " + ec.message());
    fd_ = ::open(path_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd_ < 0) throw Error("cannot open " + path_.string() + ": " + std::strerror(errno));
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) throw Error("another kvlm pull is writing " + path_.string());
    const fs::path marker = path_ / kCommitMarker;
    std::string old;
    if (std::ifstream in(marker); in) std::getline(in, old);
    if (old != commit) {  // files of another revision (or none): start empty
      for (fs::directory_iterator it(path_, ec), end; !ec && it != end; it.increment(ec)) fs::remove_all(it->path(), ec);
      std::ofstream(marker) << commit << '\n';
    }
  }
  ~Staging() {
    if (fd_ >= 0) ::close(fd_);
  }
  Staging(const Staging&) = delete;
  Staging& operator=(const Staging&) = delete;

  const fs::path& path() const { return path_; }

  // Whether anything was fetched (worth keeping for a resume).
  bool has_data() const {
    std::error_code ec;
    for (fs::directory_iterator it(path_, ec), end; !ec && it != end; it.increment(ec))
      if (it->path().filename() != kCommitMarker) return true;
    return false;
  }
  void remove() const {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
 private:
  fs::path path_;
  int fd_ = -1;
};

void check_space(const fs::path& dir, std::uint64_t needed) {
  struct statvfs st {};
  if (::statvfs(dir.c_str(), &st) != 0) return;  // unknown: the writes will tell
  const std::uint64_t free_bytes = std::uint64_t(st.f_bavail) * st.f_frsize;
  if (needed > free_bytes)
    throw Error("not enough disk space in " + dir.string() + ": the pull needs " + human_bytes(needed) + " more, " +
                human_bytes(free_bytes) + " are free");
}

// Bytes still to fetch for `files` (what a resumed pull already has is subtracted).
std::uint64_t remaining_bytes(const RepoInfo& info, const std::vector<std::string>& files, const fs::path& staging,
                              bool flatten) {
  std::uint64_t total = 0;
  for (const auto& name : files) {
    const HubFile* f = info.find(name);
    if (!f || !f->size) continue;
    const fs::path local = staging / (flatten ? fs::path(name).filename() : fs::path(name));
    std::error_code ec;
    if (fs::exists(local, ec)) continue;
    const auto have = fs::file_size(local.string() + ".part", ec);
    total += *f->size - std::min<std::uint64_t>(*f->size, ec ? 0 : have);
  }
  return total;
}

std::vector<std::string> shards_of_index(const fs::path& index, const RepoInfo& info) {
  std::set<std::string> shards;
  try {
    std::ifstream in(index);
    const auto j = nlohmann::json::parse(in);
    for (const auto& [tensor, file] : j.at("weight_map").items()) shards.insert(file.get<std::string>());
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string(kIndex) + " of " + info.repo + " is not a safetensors index (" + e.what() + ")");
  }
  if (shards.empty()) throw Error(std::string(kIndex) + " of " + info.repo + " names no weight files");
  for (const auto& s : shards) {
    if (!plain_file_name(s) || !s.ends_with(".safetensors"))
      throw Error(std::string(kIndex) + " of " + info.repo + " names '" + s + "', not a .safetensors file in the repository root");
    if (!info.find(s)) throw Error(std::string(kIndex) + " of " + info.repo + " names " + s + ", which the repository lacks");
  }
  return {shards.begin(), shards.end()};
}

void sync_dir(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

void rename_or_throw(const fs::path& from, const fs::path& to) {
  if (::rename(from.c_str(), to.c_str()) != 0)
    throw Error("cannot rename " + from.string() + " to " + to.string() + ": " + std::strerror(errno));
}

int pull(const PullOptions& o) {
  const PullPlan plan = plan_from_spec(o);
  const fs::path models = models_dir();
  const fs::path target = models / plan.entry();
  const auto installed = [&]() -> std::optional<fs::path> {
    for (const auto& c : model_candidates(models, plan.name))
      if (std::error_code ec; fs::exists(fs::symlink_status(c, ec))) return c;
    return std::nullopt;
  };
  const auto report_installed = [&](const fs::path& p) {
    std::fprintf(stderr, "kv:%s is already installed at %s (kvlm rm %s, then pull, to fetch it again)\n", plan.name.c_str(),
                 p.c_str(), plan.name.c_str());
    std::printf("%s\n", p.c_str());
    return 0;
  };
  // The environment is checked first: a wrong HF_ENDPOINT is reported even
  // when nothing needs fetching.
  const HubClient hub = HubClient::from_environment();
  if (const auto p = installed()) return report_installed(*p);

  const RepoInfo info = hub.repo_info(plan.repo, o.revision);
  std::vector<std::string> small_files;
  if (!plan.gguf_file.empty()) {
    if (!info.find(plan.gguf_file)) throw Error(info.repo + " has no file " + plan.gguf_file + gguf_hint(info));
  } else {
    if (!info.find("config.json"))
      throw Error(info.repo + " has no config.json, so it is not a Hugging Face transformers model" + gguf_hint(info));
    if (!info.find(std::string(kIndex)) && !info.find(std::string(kSingleWeights)))
      throw Error(info.repo + " has no " + std::string(kSingleWeights) + " or " + std::string(kIndex) +
                  (info.find("pytorch_model.bin") ? " (only PyTorch .bin weights, which kvlm does not read)" : "") +
                  gguf_hint(info));
    for (auto f : kModelFiles)
      if (info.find(std::string(f))) small_files.emplace_back(f);
    if (info.find(std::string(kIndex))) small_files.emplace_back(kIndex);
    if (!info.find("tokenizer.json"))
      std::fprintf(stderr, "note: %s has no tokenizer.json: kvlm can run it with --ids only\n", info.repo.c_str());
  }

  std::error_code ec;
  fs::create_directories(models, ec);
  if (ec) throw Error("cannot create the models directory " + models.string() + ": " + ec.message());
  Staging staging(models, plan.entry(), info.commit);
  if (const auto p = installed()) {  // another pull finished meanwhile
    staging.remove();
    return report_installed(*p);
  }
  std::fprintf(stderr, "pulling %s (commit %s) into %s\n", info.repo.c_str(), info.commit.substr(0, 12).c_str(),
               target.c_str());

  DownloadProgress progress;
  std::uint64_t total = 0;
  const auto fetch = [&](const std::string& file) {
    const fs::path local = staging.path() / fs::path(file).filename();
    std::error_code e2;
    if (fs::exists(local, e2)) {  // verified by an earlier run of this pull
      total += fs::file_size(local, e2);
      return;
    }
    const HubFile& f = *info.find(file);
    DownloadJob job{hub.file_url(info.repo, info.commit, file), local, file, {f.size, f.sha256, f.blob_id}, o.retries};
    total += download_verified(hub.http(), job, progress,
                               [&](const HttpResponse& r) { return hub.describe_failure(r, info, file); });
  };

  try {
    if (!plan.gguf_file.empty()) {
      check_space(models, remaining_bytes(info, {plan.gguf_file}, staging.path(), true));
      fetch(plan.gguf_file);
      rename_or_throw(staging.path() / fs::path(plan.gguf_file).filename(), target);
      staging.remove();
    } else {
      for (const auto& f : small_files) fetch(f);
      const std::vector<std::string> weights = info.find(std::string(kIndex))
                                                   ? shards_of_index(staging.path() / kIndex, info)
                                                   : std::vector<std::string>{std::string(kSingleWeights)};
      check_space(models, remaining_bytes(info, weights, staging.path(), false));
      for (const auto& f : weights) fetch(f);
      rename_or_throw(staging.path(), target);
      // The marker goes only once the model is in place: a failed rename
      // leaves a staging folder that the same pull still recognises.
      fs::remove(target / kCommitMarker, ec);
    }
  } catch (const std::exception& e) {
    if (!staging.has_data()) {
      staging.remove();
      throw;
    }
    throw Error(std::string(e.what()) + " (what was fetched stays in " + staging.path().string() +
                "; the same kvlm pull resumes it)");
  }
  sync_dir(models);
  std::fprintf(stderr, "installed kv:%s (%s) at %s\n", plan.name.c_str(), human_bytes(total).c_str(), target.c_str());
  std::printf("%s\n", target.c_str());
  return 0;
}

const CommandRegistration registration{
    "pull", "Download a model from the Hugging Face hub into the models directory (for -m kv:NAME)", [](CLI::App& sub) {
      auto o = std::make_shared<PullOptions>();
      sub.add_option("model", o->spec,
                     "a short name (" + alias_names() +
                         "), a repository OWNER/NAME (safetensors) or OWNER/NAME:FILE.gguf (one GGUF file)")
          ->required();
      sub.add_option("--revision", o->revision, "branch, tag or commit to fetch");
      sub.add_option("--name", o->name, "install as kv:NAME (default: the repository's or GGUF file's name, lowercased)");
      sub.add_option("--retries", o->retries, "retries of a dropped or failed transfer, each resuming it")
          ->check(integer_between(0, 100));
      sub.footer(
          "Files go to $KVLM_MODELS (default ~/.cache/kvlm/models). HF_TOKEN (or huggingface-cli login's token) "
          "authorises gated repositories such as meta-llama/Llama-3.2-1B-Instruct; HF_ENDPOINT moves the hub.");
      return [o] { return pull(*o); };
    }};

}  // namespace
}  // namespace kvlm::cli
