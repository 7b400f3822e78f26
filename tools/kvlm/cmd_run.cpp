// kvlm run: prefill a prompt and generate, printing text (or ids for --ids) or one JSON object.
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <numeric>
#include <set>

#include "command.h"
#include "generation_options.h"
#include "kvlm/error.h"
#include "kvlm/providers.h"
#include "kvlm/session.h"
#include "json_numbers.h"
#include "loading_notice.h"
#include "model_options.h"
#include "numeric_checks.h"
#include "timing.h"

namespace kvlm::cli {
namespace {

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

struct RunOptions {
  ModelOptions model;
  SamplingFlags sampling;
  std::string ids;
  std::string prompt;
  std::string prompt_file;
  bool chat = false;
  bool verbose = false;
  std::string system;
  std::string date;
  int max_new = 128;
  int ctx = 0;
  int prefix = 0;
  bool json = false;
  int top_logits = 0;
  bool ignore_eos = false;
  std::string logits_out;
};

// The prompt of -p TEXT, -p - (stdin) or -f FILE; one trailing newline (the
// one `echo` and editors add) is dropped from stdin and files.
std::string read_prompt(const RunOptions& o) {
  if (o.prompt_file.empty() && o.prompt != "-") return o.prompt;
  std::string text;
  if (o.prompt == "-") {
    if (stdin_is_terminal()) std::fprintf(stderr, "reading the prompt from stdin (end with Ctrl-D)\n");
    text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else {
    std::ifstream in(o.prompt_file, std::ios::binary);
    if (!in) throw Error("cannot read prompt file " + o.prompt_file);
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    if (in.bad()) throw Error("cannot read prompt file " + o.prompt_file);
  }
  if (text.ends_with("\r\n"))
    text.resize(text.size() - 2);
  else if (text.ends_with('\n'))
    text.pop_back();
  if (text.empty()) throw Error(o.prompt == "-" ? "the prompt on stdin is empty" : "prompt file " + o.prompt_file + " is empty");
  return text;
}

int run(RunOptions o) {
  if (!o.prompt_file.empty() && !o.prompt.empty()) throw Error("give either -p or -f, not both");
  o.prompt = read_prompt(o);
  if (o.ids.empty() && o.prompt.empty()) throw Error("no prompt: give -p TEXT, -p - (stdin), -f FILE or --ids 1,2,3");
  if (!o.ids.empty() && !o.prompt.empty()) throw Error("give either a prompt or --ids, not both");
  if (o.chat && o.prompt.empty()) throw Error("--chat needs -p TEXT");
  if (!o.system.empty() && !o.chat) throw Error("--system needs --chat");
  if (!o.date.empty() && !o.chat) throw Error("--date needs --chat (only the chat template reads it)");
  if (o.top_logits > 0 && !o.json) throw Error("--top-logits needs --json");
  o.model.needs_tokenizer = o.ids.empty();
  const auto path = o.model.resolve();
  const auto t_load = Clock::now();
  SessionOptions so;
  so.max_ctx = o.ctx;
  if (!o.date.empty()) so.date = o.date;
  LoadingNotice notice(o.model.model, !o.json);
  Session session = Session::open(path, o.model.load_options(), so);
  notice.finish();
  const double load_ms = ms_since(t_load);
  const Model& model = session.model();

  std::vector<std::int32_t> prompt;
  if (!o.ids.empty()) {
    prompt = parse_ids(o.ids);
  } else if (o.chat) {
    std::vector<ChatMessage> messages;
    if (!o.system.empty()) messages.push_back({"system", o.system});
    messages.push_back({"user", o.prompt});
    prompt = session.chat_ids(messages, true);
  } else {
    if (!session.tokenizer()) throw Error(path.string() + " has no tokenizer.json (use --ids)");
    prompt = session.tokenizer()->encode(o.prompt);
  }
  const std::size_t V = std::size_t(model.config().vocab_size);

  if (!o.logits_out.empty()) {
    // The prefill's logits for every position, on a scratch state.
    State scratch = model.new_state(o.ctx);
    const std::vector<float> all = model.forward(prompt, scratch, LogitsMode::all);
    std::ofstream out(o.logits_out, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(all.data()), std::streamsize(all.size() * sizeof(float)));
    if (!out) throw Error("cannot write " + o.logits_out);
  }

  // --ids keeps its greedy default; text prompts follow generation_config.json.
  GenerateOptions go;
  go.max_new_tokens = o.max_new;
  go.sampling = o.sampling.resolve(model.generation_config(), !o.ids.empty());
  go.stop = o.sampling.stop;
  go.ignore_eos = o.ignore_eos;
  if (o.verbose)
    std::fprintf(stderr, "seed %llu%s\n", static_cast<unsigned long long>(go.sampling.seed),
                 go.sampling.greedy ? " (unused: greedy decoding)" : o.sampling.seed_given() ? "" : " (random)");
  nlohmann::json tops = nlohmann::json::array();
  if (o.top_logits > 0)
    go.logits_hook = [&](std::span<float> logits) { tops.push_back(top_k(logits.data(), V, std::size_t(o.top_logits))); };
  const bool text_mode = o.ids.empty();
  int step = 0;
  if (!o.json && !text_mode)
    go.on_token = [&](std::int32_t id) {
      std::printf("%d%s", id, step + 1 < o.max_new ? " " : "\n");
      std::fflush(stdout);
      ++step;
      return true;
    };
  if (!o.json && text_mode) go.on_text = [](std::string_view piece) { write_stdout(piece); return true; };

  if (o.prefix > 0) {
    // Prefix reuse: prefill the first N ids once, then generate from a clone.
    if (std::size_t(o.prefix) >= prompt.size()) throw Error("--prefix must be shorter than the prompt");
    session.prefill(std::span<const std::int32_t>(prompt).first(std::size_t(o.prefix)));
    session = session.fork();
  }
  const GenerateResult r = session.generate_ids(prompt, go);
  if (o.top_logits > 0) tops.erase(tops.begin() + std::ptrdiff_t(std::min(tops.size(), r.generated_ids.size())), tops.end());
  const Timings& t = r.timings;
  if (!o.json) {
    if (text_mode || (!r.generated_ids.empty() && int(r.generated_ids.size()) < o.max_new)) std::printf("\n");
    std::fprintf(stderr, "[%s] prompt %zu tokens, prefill %.1f ms, decode %.2f ms/token\n",
                 stop_reason_name(r.stop_reason), prompt.size(), t.prefill_ms, t.decode_ms_per_token());
    return 0;
  }
  nlohmann::json j;
  j["prompt_ids"] = prompt;
  j["generated_ids"] = r.generated_ids;
  j["text"] = r.text;
  j["stop_reason"] = stop_reason_name(r.stop_reason);
  j["seed"] = go.sampling.seed;
  j["timings"] = {{"load_ms", json_ms(load_ms)},
                  {"prefill_ms", json_ms(t.prefill_ms)},
                  {"prefill_tokens", t.prefill_tokens},
                  {"first_token_ms", json_ms(t.first_token_ms)},
                  {"decode_ms_per_token", json_ms(t.decode_ms_per_token())}};
  if (o.top_logits > 0) j["top_logits"] = tops;
  std::printf("%s\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  return 0;
}

const CommandRegistration registration{"run", "Generate from a prompt (text, chat or token ids)", [](CLI::App& sub) {
  auto o = std::make_shared<RunOptions>();
  o->model.add_to(sub);
  o->model.add_cache_flag(sub);
  sub.add_option("-p,--prompt", o->prompt, "prompt text (through the tokenizer, with the BOS); '-': read it from stdin");
  sub.add_option("-f,--file", o->prompt_file, "read the prompt from FILE (one trailing newline dropped)");
  sub.add_option("--ids", o->ids, "prompt as comma-separated token ids (bypasses the tokenizer; greedy by default)");
  sub.add_flag("--chat", o->chat, "wrap -p as a user message in the model's chat template");
  sub.add_option("--system", o->system, "with --chat: a system message");
  sub.add_option("--date", o->date, "YYYY-MM-DD: the template's today");
  o->sampling.add_to(sub);
  sub.add_option("-n,--max-new", o->max_new,
                 "maximum new tokens (0: prefill only; chat's default is 512 for whole replies, translate's 256 "
                 "for a line's translation)")
      ->check(integer_at_least(0));
  sub.add_option("--ctx", o->ctx, "context size in tokens, at most the model's max positions")
      ->check(integer_at_least(1))
      ->default_str("512");
  sub.add_option("--prefix", o->prefix, "prefill the first N prompt ids once and generate from a clone of that state")
      ->check(integer_at_least(0));
  sub.add_flag("--json", o->json, "print one JSON object (with the seed used)");
  sub.add_flag("-v,--verbose", o->verbose, "print the seed used on stderr");
  sub.add_option("--top-logits", o->top_logits, "with --json: the K best [id, logit] pairs of every step")
      ->check(integer_at_least(0));
  sub.add_flag("--ignore-eos", o->ignore_eos, "never choose an end-of-generation token (their logits are masked, as llama.cpp does)");
  sub.add_option("--logits-out", o->logits_out, "write the prefill's f32 logits [prompt][vocab] to FILE");
  return [o] { return run(*o); };
}};

}  // namespace
}  // namespace kvlm::cli
