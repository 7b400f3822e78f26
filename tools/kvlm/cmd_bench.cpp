// kvlm bench: cold start, prefill and decode speed of one model and dtype,
// against the memory-bandwidth floor measured in the same run.
//
// Order of work: cold start first (child processes, before this process holds
// the weights), then load + prefill + decode in-process, then the bandwidth
// probe (its 2 GiB buffer would otherwise inflate this process's peak RSS),
// then rounds of a probe and a short decode back to back.
#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <nlohmann/json.hpp>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "command.h"
#include "kvlm/error.h"
#include "kvlm/providers.h"
#include "kvlm/system.h"
#include "model_options.h"
#include "timing.h"
#include "numeric_checks.h"

extern char** environ;

namespace kvlm::cli {
namespace {

struct BenchOptions {
  ModelOptions model;
  std::string prompts = "30,64,128,512";
  int decode_tokens = 32;
  int reps = 3;
  int ctx = 0;
  int decode_context = 0;
  double bandwidth_gib = 2.0;
  bool skip_cold_start = false;
  bool json = false;
  std::string batches;  // decode batch sizes for Model::forward_batch ("" : none)
};

std::vector<int> parse_lengths(const std::string& text) {
  std::vector<int> out;
  std::size_t i = 0;
  while (i <= text.size()) {
    const std::size_t comma = std::min(text.find(',', i), text.size());
    const std::string item = text.substr(i, comma - i);
    std::size_t used = 0;
    long v = 0;
    try {
      v = std::stol(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != item.size() || v < 1 || v > (1 << 20))
      throw Error("-p: '" + item + "' is not a prompt length (a positive integer)");
    out.push_back(int(v));
    i = comma + 1;
  }
  return out;
}

// Deterministic pseudo-random token ids in [0, vocab): the same prompt for
// every dtype, thread count and run.
std::vector<std::int32_t> bench_ids(std::size_t n, int vocab) {
  std::mt19937 rng(1234);
  std::uniform_int_distribution<std::int32_t> pick(0, vocab - 1);
  std::vector<std::int32_t> ids(n);
  for (auto& id : ids) id = pick(rng);
  return ids;
}

struct ChildRun {
  double ms = 0;
  double peak_rss_mb = 0;
};

// The error line a failed child wrote last to `err` (at most its last 4 KiB
// are read), without the kErrorPrefix its error printer puts first; empty
// if its last line is not such an error (it crashed, or wrote nothing).
std::string child_error(std::FILE* err) {
  constexpr long kTail = 4096;
  if (std::fseek(err, 0, SEEK_END) != 0) return {};
  const long size = std::ftell(err);
  if (size <= 0 || std::fseek(err, std::max(0L, size - kTail), SEEK_SET) != 0) return {};
  std::string text(std::size_t(std::min(size, kTail)), '\0');
  text.resize(std::fread(text.data(), 1, text.size(), err));
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  const std::size_t newline = text.find_last_of('\n');
  const std::string line = newline == std::string::npos ? text : text.substr(newline + 1);
  return line.starts_with(kErrorPrefix) ? line.substr(kErrorPrefix.size()) : std::string();
}

// Runs this executable with `args` (stdout to /dev/null, stderr to a
// temporary file) and times posix_spawn to exit: process start, model load,
// prefill, first token. A child that exits with an error (a model it cannot
// load) gives its error as this command's one error line. Without a
// temporary file the child's stderr is inherited.
ChildRun spawn_and_time(const std::string& exe, const std::vector<std::string>& args) {
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(exe.c_str()));
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const std::unique_ptr<std::FILE, int (*)(std::FILE*)> err(std::tmpfile(), &std::fclose);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  if (err) posix_spawn_file_actions_adddup2(&actions, fileno(err.get()), STDERR_FILENO);
  pid_t pid = 0;
  const auto t0 = Clock::now();
  const int rc = posix_spawn(&pid, exe.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw Error("cold start: cannot spawn " + exe + ": " + std::strerror(rc));
  int status = 0;
  rusage usage{};
  pid_t waited;
  do waited = wait4(pid, &status, 0, &usage);
  while (waited < 0 && errno == EINTR);
  ChildRun out;
  out.ms = ms_since(t0);
  out.peak_rss_mb = double(usage.ru_maxrss) / 1024.0;  // Linux: KiB
  if (waited < 0) throw Error(std::string("cold start: wait failed: ") + std::strerror(errno));
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    const std::string message = err && WIFEXITED(status) ? child_error(err.get()) : std::string();
    throw Error(!message.empty() ? message
                                 : "cold start: child `kvlm run` failed (status " + std::to_string(status) + ")");
  }
  return out;
}

std::string self_exe() {
  std::error_code ec;
  const auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) throw Error("cold start: cannot resolve /proc/self/exe: " + ec.message());
  return p.string();
}

double peak_rss_mb_self() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return double(usage.ru_maxrss) / 1024.0;
}

struct PrefillResult {
  int tokens = 0;
  double cold_ms = 0;  // the first (untimed-for-the-median) run
  double ms = 0;       // median of reps
  double min_ms = 0;
};

int bench(const BenchOptions& o) {
  const std::string model_path = resolve_model(o.model.model).string();  // kv:NAME too
  const std::vector<int> lengths = parse_lengths(o.prompts);
  const int threads = o.model.threads > 0 ? o.model.threads : int(std::max(1u, std::thread::hardware_concurrency()));
  const int ctx = o.ctx > 0 ? o.ctx : 512;
  const int longest = *std::max_element(lengths.begin(), lengths.end());
  if (longest > ctx)
    throw Error("-p: prompt length " + std::to_string(longest) + " exceeds the context (" + std::to_string(ctx) +
                "); raise --ctx");
  const int decode_context = o.decode_context > 0 ? o.decode_context : *std::min_element(lengths.begin(), lengths.end());
  // One untimed step after the prefill, then decode_tokens timed ones.
  if (decode_context + 1 + o.decode_tokens > ctx)
    throw Error("decode: context " + std::to_string(decode_context) + " + " + std::to_string(o.decode_tokens + 1) +
                " steps exceeds the context (" + std::to_string(ctx) + "); raise --ctx or lower -n");
  // The dtype as asked (empty: the model's own, resolved at load below).
  std::string dtype = o.model.dtype;

  // 1. Cold start: process start to first token, page cache warm.
  std::vector<double> cold_ms;
  double child_rss_mb = 0;
  if (!o.skip_cold_start) {
    const std::string exe = self_exe();
    // The ids only need to be valid for any vocabulary; 8 tokens of prefill.
    std::vector<std::string> args = {"run", "-m", model_path, "--ids", "1,2,3,4,5,6,7,8",
                                     "-n", "1", "-t", std::to_string(threads), "--backend", o.model.backend, "--json"};
    if (!o.model.dtype.empty()) args.insert(args.end(), {"--dtype", o.model.dtype});
    if (o.model.no_mmap) args.push_back("--no-mmap");
    if (o.model.mmap) args.push_back("--mmap");
    if (o.model.verify) args.push_back("--verify");
    child_rss_mb = spawn_and_time(exe, args).peak_rss_mb;  // warms the page cache
    for (int r = 0; r < o.reps; ++r) {
      const ChildRun run = spawn_and_time(exe, args);
      cold_ms.push_back(run.ms);
      child_rss_mb = std::max(child_rss_mb, run.peak_rss_mb);
    }
  }

  // 2. Load in-process.
  const auto t_load = Clock::now();
  const auto model = Model::load(model_path, o.model.load_options());
  dtype = std::string(dtype_name(model->dtype()));
  const double load_ms = ms_since(t_load);
  const ModelConfig& cfg = model->config();
  const std::vector<std::int32_t> ids = bench_ids(std::size_t(longest), cfg.vocab_size);

  // 3. Prefill: for each length, one cold run, then the median of reps.
  std::vector<PrefillResult> prefill;
  State state = model->new_state(ctx);
  for (const int len : lengths) {
    const std::span<const std::int32_t> prompt(ids.data(), std::size_t(len));
    PrefillResult r;
    r.tokens = len;
    std::vector<double> times;
    for (int rep = 0; rep <= o.reps; ++rep) {
      state.reset();
      const auto t0 = Clock::now();
      const std::vector<float> logits = model->forward(prompt, state, LogitsMode::last);
      const double ms = ms_since(t0);
      if (rep == 0) r.cold_ms = ms;
      else times.push_back(ms);
    }
    r.ms = median(times);
    r.min_ms = *std::min_element(times.begin(), times.end());
    prefill.push_back(r);
  }

  // 4. Decode: prefill decode_context tokens, one untimed step, then `steps`
  // greedy steps; returns each step's time.
  const std::vector<std::int32_t> ctx_ids = bench_ids(std::size_t(decode_context), cfg.vocab_size);
  auto decode = [&](int steps) {
    std::vector<double> step_ms;
    state.reset();
    std::vector<float> logits = model->forward(ctx_ids, state, LogitsMode::last);
    for (int step = 0; step <= steps; ++step) {
      const std::int32_t next = std::int32_t(std::max_element(logits.begin(), logits.end()) - logits.begin());
      const std::int32_t one[1] = {next};
      const auto t0 = Clock::now();
      logits = model->forward(one, state, LogitsMode::last);
      if (step > 0) step_ms.push_back(ms_since(t0));
    }
    return step_ms;
  };
  const std::vector<double> step_ms = decode(o.decode_tokens);

  // 4b. Batched decode: n conversations at decode_context, one step of each
  // per pass (Model::forward_batch); the median pass time.
  struct BatchResult {
    int batch;
    double ms_per_pass;
  };
  std::vector<BatchResult> batched;
  for (const int n : o.batches.empty() ? std::vector<int>{} : parse_lengths(o.batches)) {
    std::vector<State> states;
    std::vector<State*> pointers;
    for (int i = 0; i < n; ++i) {
      states.push_back(model->new_state(ctx));
      model->forward(ctx_ids, states.back(), LogitsMode::last);
    }
    for (State& s : states) pointers.push_back(&s);
    std::vector<std::int32_t> next(std::size_t(n), 1);
    std::vector<double> pass_ms;
    for (int step = 0; step <= o.decode_tokens; ++step) {
      const auto t0 = Clock::now();
      const std::vector<float> logits = model->forward_batch(next, pointers);
      if (step > 0) pass_ms.push_back(ms_since(t0));
      const std::size_t vocab = std::size_t(cfg.vocab_size);
      for (std::size_t i = 0; i < std::size_t(n); ++i)
        next[i] = std::int32_t(std::max_element(logits.begin() + std::ptrdiff_t(i * vocab),
                                                logits.begin() + std::ptrdiff_t((i + 1) * vocab)) -
                               (logits.begin() + std::ptrdiff_t(i * vocab)));
    }
    batched.push_back({n, median(pass_ms)});
  }
  const double peak_rss_mb = peak_rss_mb_self();
  // Every weight page has been read by now. Only a package is one mapped
  // file; a Hugging Face directory's safetensors are several.
  const bool weights_mapped = model->options().weight_memory == WeightMemory::mapped;
  std::optional<FileMapping> package_mapping;
  if (weights_mapped && std::filesystem::is_regular_file(model_path)) package_mapping = file_mapping(model_path);
  if (package_mapping && package_mapping->bytes == 0) package_mapping.reset();

  // 5. Bandwidth with the same thread count, and one thread for reference.
  const std::size_t bw_bytes = std::size_t(o.bandwidth_gib * double(std::size_t(1) << 30));
  const BandwidthProbe probe(bw_bytes, threads);
  double bandwidth_gbs = probe.measure(threads);
  const double bandwidth_1t_gbs = threads == 1 ? bandwidth_gbs : probe.measure(1);

  // Floor: the weights are read once per token. The KV cache read at this
  // context (reported separately) is well under 1% of it.
  const std::uint64_t bytes_per_token = model->info().weight_bytes;
  // A shared VM's bandwidth drifts by up to 2x within minutes, so a probe
  // taken minutes from the decode can make the floor share meaningless
  // (even above 100%). The share is therefore also taken in rounds of a
  // probe and a short decode back to back, and its median reported; the
  // floor itself uses the best bandwidth any probe saw (the harshest floor).
  constexpr int kRounds = 3, kRoundSteps = 8;
  std::vector<double> round_bandwidth, round_decode_ms, round_share;
  for (int r = 0; r < kRounds; ++r) {
    const double bw = probe.measure(threads, 3);
    const double ms = median(decode(std::min(kRoundSteps, o.decode_tokens)));
    round_bandwidth.push_back(bw);
    round_decode_ms.push_back(ms);
    round_share.push_back(double(bytes_per_token) / (bw * 1e9) * 1e3 / ms);
    bandwidth_gbs = std::max(bandwidth_gbs, bw);
  }
  const double paired_share = median(round_share);
  const std::size_t cache_elem = model->dtype() == DType::f32 ? 4 : 2;
  const double mean_ctx = decode_context + 1 + (o.decode_tokens + 1) / 2.0;
  const double kv_bytes = double(cfg.num_layers) * 2.0 * cfg.num_kv_heads * cfg.head_dim * double(cache_elem) * mean_ctx;
  const double floor_ms = double(bytes_per_token) / (bandwidth_gbs * 1e9) * 1e3;
  const double decode_median = median(step_ms);
  const double decode_min = *std::min_element(step_ms.begin(), step_ms.end());
  const double decode_max = *std::max_element(step_ms.begin(), step_ms.end());
  double decode_mean = 0;
  for (const double v : step_ms) decode_mean += v / double(step_ms.size());
  const double floor_share = floor_ms / decode_median;
  const std::string isa(kernel_isa_name());

  if (o.json) {
    nlohmann::json j;
    j["model"] = o.model.model;
    j["dtype"] = dtype;
    j["threads"] = threads;
    j["bandwidth_gbs"] = bandwidth_gbs;
    j["cold_start_ms"] = cold_ms.empty() ? nlohmann::json(nullptr) : nlohmann::json(median(cold_ms));
    nlohmann::json pre = nlohmann::json::array();
    for (const auto& r : prefill)
      pre.push_back({{"tokens", r.tokens},
                     {"ms", r.ms},
                     {"tokens_per_s", r.tokens / r.ms * 1e3},
                     {"cold_ms", r.cold_ms},
                     {"min_ms", r.min_ms}});
    j["prefill"] = pre;
    j["decode_ms_per_token"] = {{"median", decode_median}, {"min", decode_min}, {"max", decode_max}, {"mean", decode_mean}};
    j["bytes_per_token"] = bytes_per_token;
    j["decode_floor_share"] = floor_share;
    // Extra keys.
    j["decode_floor_share_paired"] = paired_share;
    j["paired_rounds"] = {{"bandwidth_gbs", round_bandwidth}, {"decode_ms_per_token", round_decode_ms},
                          {"floor_share", round_share}};
    j["decode_floor_ms"] = floor_ms;
    j["decode_context"] = decode_context;
    j["decode_tokens"] = o.decode_tokens;
    j["kv_bytes_per_token"] = std::uint64_t(kv_bytes);
    j["bandwidth_gbs_1thread"] = bandwidth_1t_gbs;
    j["bandwidth_bytes"] = probe.bytes();
    j["isa"] = isa;
    j["load_ms"] = load_ms;
    j["weight_memory"] = weights_mapped ? "mapped" : "copied";
    j["peak_rss_mb"] = peak_rss_mb;
    j["package_mapped_mb"] = package_mapping ? nlohmann::json(double(package_mapping->bytes) / 1e6) : nlohmann::json(nullptr);
    j["package_huge_mapped_mb"] =
        package_mapping ? nlohmann::json(double(package_mapping->huge_bytes) / 1e6) : nlohmann::json(nullptr);
    j["cold_start_peak_rss_mb"] = cold_ms.empty() ? nlohmann::json(nullptr) : nlohmann::json(child_rss_mb);
    j["cold_start_ms_all"] = cold_ms;
    j["parameters"] = model->info().parameter_count;
    j["ctx"] = ctx;
    j["reps"] = o.reps;
    j["batched_decode"] = nlohmann::json::array();
    for (const auto& b : batched)
      j["batched_decode"].push_back({{"batch", b.batch},
                                     {"ms_per_pass", b.ms_per_pass},
                                     {"tokens_per_s", b.batch / b.ms_per_pass * 1e3}});
    std::printf("%s\n", j.dump().c_str());
    return 0;
  }

  std::printf("kvlm bench  %s  dtype %s  threads %d  isa %s\n", o.model.model.c_str(), dtype.c_str(), threads,
              isa.c_str());
  std::printf("weights %.3f GB (%.3f G params, %s), load %.0f ms, peak RSS %.0f MB\n", double(bytes_per_token) / 1e9,
              double(model->info().parameter_count) / 1e9, weights_mapped ? "mapped" : "copied", load_ms,
              peak_rss_mb);
  if (package_mapping)
    std::printf("package mapping: %.0f of %.0f MB with 2 MiB pages (the rest is mapped in smaller pages: slower "
                "to start and to decode)\n",
                double(package_mapping->huge_bytes) / 1e6, double(package_mapping->bytes) / 1e6);
  if (!cold_ms.empty())
    std::printf("cold start (process start to first token, page cache warm, median of %zu): %.0f ms, "
                "peak RSS %.0f MB\n",
                cold_ms.size(), median(cold_ms), child_rss_mb);
  std::printf("memory read bandwidth: %.1f GB/s (%d threads), %.1f GB/s (1 thread)\n\n", bandwidth_gbs, threads,
              bandwidth_1t_gbs);
  std::printf("%8s  %14s  %14s  %12s\n", "prompt", "cold prefill", "warm prefill", "tokens/s");
  for (const auto& r : prefill)
    std::printf("%8d  %11.1f ms  %11.1f ms  %12.1f\n", r.tokens, r.cold_ms, r.ms, r.tokens / r.ms * 1e3);
  std::printf("\ndecode at context %d, %d tokens: %.2f ms/token median (min %.2f, max %.2f) = %.1f tokens/s\n",
              decode_context, o.decode_tokens, decode_median, decode_min, decode_max, 1e3 / decode_median);
  std::printf("floor: %.3f GB/token / %.1f GB/s (best probe) = %.2f ms/token; decode runs at %.0f%% of the floor\n",
              double(bytes_per_token) / 1e9, bandwidth_gbs, floor_ms, floor_share * 100.0);
  std::printf("paired rounds (a probe, then %d decode steps):", std::min(kRoundSteps, o.decode_tokens));
  for (int r = 0; r < kRounds; ++r)
    std::printf(" %.1f GB/s %.2f ms = %.0f%%;", round_bandwidth[std::size_t(r)], round_decode_ms[std::size_t(r)],
                round_share[std::size_t(r)] * 100.0);
  std::printf(" median %.0f%% of the floor\n", paired_share * 100.0);
  std::printf("(KV cache read per token at this context: %.2f MB, not in the floor)\n", kv_bytes / 1e6);
  for (const auto& b : batched)
    std::printf("batched decode, %d conversations: %.2f ms per pass = %.1f tokens/s (%.2fx one)\n", b.batch,
                b.ms_per_pass, b.batch / b.ms_per_pass * 1e3, decode_median / b.ms_per_pass * b.batch);
  return 0;
}

const CommandRegistration registration{"bench", "Benchmark cold start, prefill and decode against the bandwidth floor",
                                       [](CLI::App& sub) {
  auto o = std::make_shared<BenchOptions>();
  o->model.add_to(sub);
  sub.add_option("-p,--prompts", o->prompts, "comma-separated prefill lengths (default 30,64,128,512)");
  sub.add_option("-n,--decode", o->decode_tokens, "timed decode steps")->check(integer_at_least(1));
  sub.add_option("--reps", o->reps, "repetitions per prefill length and cold start")
      ->check(integer_at_least(1));
  sub.add_option("--ctx", o->ctx, "context size; prompts longer than it are an error")
      ->check(integer_at_least(1))
      ->default_str("512");
  sub.add_option("--decode-context", o->decode_context, "tokens prefilled before decode (default: shortest -p)")
      ->check(integer_at_least(1));
  sub.add_option("--bandwidth-gib", o->bandwidth_gib, "bandwidth probe buffer in GiB")
      ->check(number_between(0.01, 1024.0));
  sub.add_flag("--no-cold-start", o->skip_cold_start, "skip the cold-start child processes");
  sub.add_option("--batch", o->batches,
                 "comma-separated batch sizes: also time decode of that many conversations per pass "
                 "(Model::forward_batch, as kvlm serve batches its slots)");
  sub.add_flag("--json", o->json, "print one JSON object");
  return [o] { return bench(*o); };
}};

}  // namespace
}  // namespace kvlm::cli
