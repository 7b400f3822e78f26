// kvlm sample-check (hidden, for tests): reads {"cases": [{logits, history,
// greedy, temperature, top_k, top_p, min_p, repetition_penalty, seed, draws}]}
// from stdin and prints, per case, the Sampler's distribution and `draws`
// sampled ids, so script tests can compare them with an independent
// implementation.
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "command.h"
#include "generation_options.h"
#include "kvlm/sampler.h"

namespace kvlm::cli {
namespace {

int sample_check() {
  const std::string input((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  const nlohmann::json in = nlohmann::json::parse(input, nullptr, false);
  if (in.is_discarded() || !in.contains("cases")) throw Error("sample-check: stdin is not {\"cases\": [...]}");
  nlohmann::json out = nlohmann::json::array();
  for (const auto& c : in["cases"]) {
    SamplingOptions o;
    o.greedy = c.value("greedy", false);
    o.temperature = c.value("temperature", 1.0);
    o.top_k = c.value("top_k", 0);
    o.top_p = c.value("top_p", 1.0);
    o.min_p = c.value("min_p", 0.0);
    o.repetition_penalty = c.value("repetition_penalty", 1.0);
    o.seed = c.value("seed", std::uint64_t(0));
    const auto logits = c.at("logits").get<std::vector<float>>();
    auto history = c.value("history", std::vector<std::int32_t>());
    Sampler sampler(o);
    nlohmann::json r;
    r["probs"] = sampler.probabilities(logits, history);
    std::vector<std::int32_t> draws;
    for (int i = 0; i < c.value("draws", 0); ++i) draws.push_back(sampler.sample(logits, history));
    r["draws"] = draws;
    out.push_back(std::move(r));
  }
  write_stdout(out.dump() + "\n");
  return 0;
}

const CommandRegistration registration{"sample-check", "", [](CLI::App& sub) {
  sub.group("");  // hidden: a test hook, not part of the user-facing CLI
  return [] { return sample_check(); };
}};

}  // namespace
}  // namespace kvlm::cli
