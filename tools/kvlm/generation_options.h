// Sampling and stopping flags shared by run and chat, and small CLI helpers
// for the generation subcommands (pack lookup, stdin lines).
#pragma once

#include <cstdio>
#include <filesystem>
#include <optional>
#include <random>
#include <string>
#include <unistd.h>
#include <vector>

#include "command.h"
#include "kvlm/error.h"
#include "kvlm/session.h"
#include "numeric_checks.h"

namespace kvlm::cli {

struct SamplingFlags {
  std::optional<double> temp, top_p, min_p, repeat_penalty;
  std::optional<int> top_k;
  std::uint64_t seed = 0;
  bool greedy = false;
  std::vector<std::string> stop;
  CLI::Option* seed_option_ = nullptr;

  void add_to(CLI::App& sub) {
    sub.add_option("--temp", temp, "temperature (0: greedy; default from generation_config.json)")
        ->check(number_between(0.0, 100.0));
    sub.add_option("--top-k", top_k, "keep the K most likely tokens (0: off)")->check(integer_at_least(0));
    sub.add_option("--top-p", top_p, "nucleus sampling: keep the smallest set with probability >= P (1: off)")
        ->check(number_above_zero_up_to(1.0));
    sub.add_option("--min-p", min_p, "drop tokens below P times the best one's probability")->check(number_between(0.0, 1.0));
    sub.add_option("--repeat-penalty", repeat_penalty, "repetition penalty (1: off; HF semantics)")
        ->check(positive_number());
    // A fresh seed each run unless given: the same prompt need not give the same text.
    seed = std::random_device{}();
    seed_option_ = sub.add_option("--seed", seed, "random seed (the same seed gives the same text)")
                       ->check(integer_at_least(0))
                       ->default_str("random");
    sub.add_flag("--greedy", greedy, "argmax decoding (same as --temp 0)");
    sub.add_option("--stop", stop, "stop string (repeatable); it and what follows are not output");
  }

  bool seed_given() const { return seed_option_ && seed_option_->count() > 0; }

  bool any_sampling_flag() const { return temp || top_p || min_p || top_k || repeat_penalty; }

  // Defaults from generation_config.json, overridden by the flags; `greedy_default`
  // starts from argmax instead (run --ids keeps its greedy behaviour).
  SamplingOptions resolve(const GenerationConfig& config, bool greedy_default) const {
    SamplingOptions o = SamplingOptions::from(config);
    if (greedy_default) o.greedy = true;
    if (temp) {
      o.temperature = *temp;
      o.greedy = *temp <= 0.0;
    }
    if (top_k) o.top_k = *top_k;
    if (top_p) o.top_p = *top_p;
    if (min_p) o.min_p = *min_p;
    if (repeat_penalty) o.repetition_penalty = *repeat_penalty;
    if (greedy) o.greedy = true;
    o.seed = seed;
    return o;
  }
};

inline void write_stdout(std::string_view s) {
  if (!s.empty() && std::fwrite(s.data(), 1, s.size(), stdout) != s.size()) throw Error("cannot write to stdout");
  std::fflush(stdout);
}

#ifndef KVLM_PACKS_FROM_BINDIR
#define KVLM_PACKS_FROM_BINDIR "../share/kvlm/packs"
#endif

// An evaluation pack: an existing path, else $KVLM_PACKS/NAME, else packs/NAME
// next to the source tree the binary was built in (BUILD_DIR/../packs), else
// the installed packs (PREFIX/bin/kvlm -> PREFIX/share/kvlm/packs), else
// ./packs/NAME.
inline std::filesystem::path find_pack(const std::string& name) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::exists(name, ec)) return name;
  std::vector<fs::path> candidates;
  if (const char* env = std::getenv("KVLM_PACKS"); env && *env) candidates.push_back(fs::path(env) / name);
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    candidates.push_back(exe.parent_path().parent_path() / "packs" / name);
    candidates.push_back(exe.parent_path() / "packs" / name);
    candidates.push_back((exe.parent_path() / KVLM_PACKS_FROM_BINDIR / name).lexically_normal());
  }
  candidates.push_back(fs::path("packs") / name);
  for (const auto& c : candidates) {
    if (fs::exists(c, ec)) return c;
    if (fs::exists(c.string() + ".jsonl", ec)) return c.string() + ".jsonl";
  }
  throw Error("pack not found: " + name + " (give a path, or a name under packs/)");
}

inline bool stdin_is_terminal() { return ::isatty(0) != 0; }

}  // namespace kvlm::cli
