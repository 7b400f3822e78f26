// kvlm run: prefill a prompt and decode greedily, printing text or one JSON object.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <set>

#include "command.h"
#include "kvlm/error.h"
#include "model_options.h"

namespace kvlm::cli {
namespace {

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

std::vector<std::int32_t> parse_ids(const std::string& text) {
  std::vector<std::int32_t> ids;
  std::size_t i = 0;
  while (i < text.size()) {
    const std::size_t comma = std::min(text.find(',', i), text.size());
    const std::string item = text.substr(i, comma - i);
    std::size_t used = 0;
    long long v = -1;
    try {
      v = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != item.size() || v < 0 || v > INT32_MAX)
      throw Error("--ids: '" + item + "' is not a token id");
    ids.push_back(std::int32_t(v));
    i = comma + 1;
  }
  if (ids.empty()) throw Error("--ids: no token ids given");
  return ids;
}

// The k best (id, logit) pairs, best first; ties go to the lower id.
nlohmann::json top_k(const float* logits, std::size_t n, std::size_t k) {
  std::vector<std::int32_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  k = std::min(k, n);
  std::partial_sort(order.begin(), order.begin() + std::ptrdiff_t(k), order.end(),
                    [&](std::int32_t a, std::int32_t b) { return logits[a] > logits[b] || (logits[a] == logits[b] && a < b); });
  nlohmann::json out = nlohmann::json::array();
  for (std::size_t i = 0; i < k; ++i) out.push_back({order[i], logits[order[i]]});
  return out;
}

std::int32_t argmax(const float* logits, std::size_t n) {
  return std::int32_t(std::max_element(logits, logits + n) - logits);
}

struct RunOptions {
  ModelOptions model;
  std::string ids;
  int max_new = 128;
  int ctx = 0;
  bool json = false;
  int top_logits = 0;
  bool ignore_eos = false;
  std::string logits_out;
};

int run(const RunOptions& o) {
  const auto t_load = Clock::now();
  const auto model = Model::load(o.model.model, o.model.load_options());
  const double load_ms = ms_since(t_load);
  if (o.ids.empty()) throw Error("no prompt: give --ids (text prompts need the tokenizer)");
  const std::vector<std::int32_t> prompt = parse_ids(o.ids);
  State state = model->new_state(o.ctx);
  const std::size_t V = std::size_t(model->config().vocab_size);
  const auto& eos_list = model->generation_config().eos_token_ids;
  const std::set<std::int32_t> eos(eos_list.begin(), eos_list.end());

  const auto t_prefill = Clock::now();
  std::vector<float> logits =
      model->forward(prompt, state, o.logits_out.empty() ? LogitsMode::last : LogitsMode::all);
  const double prefill_ms = ms_since(t_prefill);
  if (!o.logits_out.empty()) {
    std::ofstream out(o.logits_out, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(logits.data()), std::streamsize(logits.size() * sizeof(float)));
    if (!out) throw Error("cannot write " + o.logits_out);
    logits.erase(logits.begin(), logits.end() - std::ptrdiff_t(V));
  }

  std::vector<std::int32_t> generated;
  nlohmann::json tops = nlohmann::json::array();
  std::string stop_reason = "length";
  const auto t_decode = Clock::now();
  int decode_steps = 0;
  for (int step = 0; step < o.max_new; ++step) {
    const std::int32_t next = argmax(logits.data(), V);
    if (!o.ignore_eos && eos.count(next)) {
      stop_reason = "eos";
      break;
    }
    generated.push_back(next);
    if (o.top_logits > 0) tops.push_back(top_k(logits.data(), V, std::size_t(o.top_logits)));
    if (!o.json) std::printf("%d%s", next, step + 1 < o.max_new ? " " : "\n"), std::fflush(stdout);
    if (step + 1 == o.max_new || state.length() == state.max_ctx()) break;  // length stop
    const std::int32_t one[1] = {next};
    logits = model->forward(one, state, LogitsMode::last);
    ++decode_steps;
  }
  const double decode_ms = ms_since(t_decode);
  if (!o.json) {
    if (!generated.empty() && int(generated.size()) < o.max_new) std::printf("\n");
    std::fprintf(stderr, "[%s] prompt %zu tokens, prefill %.1f ms, decode %.2f ms/token\n", stop_reason.c_str(),
                 prompt.size(), prefill_ms, decode_steps ? decode_ms / decode_steps : 0.0);
    return 0;
  }
  nlohmann::json j;
  j["prompt_ids"] = prompt;
  j["generated_ids"] = generated;
  j["text"] = "";
  j["stop_reason"] = stop_reason;
  j["timings"] = {{"load_ms", load_ms},
                  {"prefill_ms", prefill_ms},
                  {"prefill_tokens", prompt.size()},
                  {"decode_ms_per_token", decode_steps ? decode_ms / decode_steps : 0.0}};
  if (o.top_logits > 0) j["top_logits"] = tops;
  std::printf("%s\n", j.dump().c_str());
  return 0;
}

const CommandRegistration registration{"run", "Generate from a prompt (greedy)", [](CLI::App& sub) {
  auto o = std::make_shared<RunOptions>();
  o->model.add_to(sub);
  sub.add_option("--ids", o->ids, "prompt as comma-separated token ids (bypasses the tokenizer)");
  sub.add_option("-n,--max-new", o->max_new, "maximum new tokens")->check(CLI::NonNegativeNumber);
  sub.add_option("--ctx", o->ctx, "context size (default 512)")->check(CLI::PositiveNumber);
  sub.add_flag("--json", o->json, "print one JSON object");
  sub.add_option("--top-logits", o->top_logits, "with --json: the K best [id, logit] pairs of every step")
      ->check(CLI::NonNegativeNumber);
  sub.add_flag("--ignore-eos", o->ignore_eos, "do not stop at end-of-sequence tokens");
  sub.add_option("--logits-out", o->logits_out, "write the prefill's f32 logits [prompt][vocab] to FILE");
  return [o] { return run(*o); };
}};

}  // namespace
}  // namespace kvlm::cli
