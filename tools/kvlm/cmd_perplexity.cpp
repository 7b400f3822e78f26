// kvlm perplexity: the perplexity of a text file as llama.cpp's llama-perplexity
// computes it, and with --kl-base the KL divergence from a base model's stored
// log-probabilities (llama-perplexity --kl-divergence-base / --kl-divergence).
//
// Chunking (perplexity() in llama.cpp's tools/perplexity/perplexity.cpp): the
// whole text is tokenized once with the tokenizer's special tokens (the BOS)
// and cut into tokens / ctx chunks of ctx tokens, the remainder dropped. Each
// chunk runs on an empty state with its first token replaced by the BOS when
// the tokenizer adds one; the logits at positions ctx/2 ... ctx-2 predict
// tokens ctx/2+1 ... ctx-1, so a chunk scores ctx - 1 - ctx/2 tokens.
// PPL = exp(mean NLL) +/- PPL * sqrt(var(NLL) / (count - 1)).
//
// The KL base file (little-endian): "KVLMKLB1", u32 ctx, u32 vocab, u32
// chunks, u32 0, the chunks * ctx text token ids (i32, before the BOS
// replacement), then one record per scored token in order: f32 scale, f32
// min_log_prob, i32 argmax of the logits, and vocab u16 q (padded to an even
// count) with log p = min_log_prob + scale * q. As in llama.cpp, log-probs are
// quantized between the top one and 16 below it (lower ones are q = 0), and
// the KL sums only base log-probs above -16. The argmax (llama.cpp takes it
// from the rounded q) makes "same top" exact. A record is 12 + 2 * vocab bytes:
// 256.5 KB a token for Llama 3's 128256, 65 MB a 512-token chunk, 2.5 GB for
// 10K scored tokens (a 20K-token text).
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>
#include <unistd.h>

#include "command.h"
#include "kvlm/error.h"
#include "kvlm/model_files.h"
#include "kvlm/providers.h"
#include "kvlm/tokenizer.h"
#include "model_options.h"
#include "timing.h"
#include "numeric_checks.h"

namespace kvlm::cli {
namespace {

constexpr char kBaseMagic[8] = {'K', 'V', 'L', 'M', 'K', 'L', 'B', '1'};
constexpr float kLogProbRange = 16.0f;  // llama.cpp's: log-probs further below the top are dropped

struct PerplexityOptions {
  ModelOptions model;
  std::string text_file;
  std::string kl_base;
  int ctx = 512;  // llama-perplexity's default
  bool json = false;
};

// Mean of the values summed in `sum` / `sum2` and its standard error.
std::pair<double, double> mean_and_error(double sum, double sum2, std::size_t n) {
  const double mean = sum / double(n);
  const double var = sum2 / double(n) - mean * mean;
  return {mean, n > 1 && var > 0 ? std::sqrt(var / double(n - 1)) : 0.0};
}

// The value at `fraction` of sorted `v`, interpolated (llama.cpp's percentile).
double percentile(const std::vector<float>& v, double fraction) {
  const double p = fraction * double(v.size() - 1);
  const std::size_t i = std::size_t(p);
  return (1 - (p - double(i))) * v[i] + (p - double(i)) * v[std::min(i + 1, v.size() - 1)];
}

std::size_t record_bytes(std::size_t vocab) { return 12 + 2 * (vocab + vocab % 2); }

struct TokenScore {
  double nll = 0, nll_base = 0, kld = 0;
  bool same_top = false;
};

// Scores one position's logits [vocab] against `target` (exp in f32, sums in
// f64, as llama.cpp). With `base` (a record), adds KL(base || model) over the
// base log-probs above -16 and whether the argmaxes agree, as llama.cpp's
// kl_divergence does; with `out`, writes this position's record there.
TokenScore score(const float* logits, std::size_t vocab, std::int32_t target, const char* base, char* out) {
  float max = logits[0], min = logits[0];
  std::int32_t argmax = 0;
  for (std::size_t i = 1; i < vocab; ++i) {
    if (logits[i] > max) max = logits[i], argmax = std::int32_t(i);
    min = std::min(min, logits[i]);
  }
  double sum = 0;
  for (std::size_t i = 0; i < vocab; ++i) sum += std::exp(logits[i] - max);
  const double shift = max + std::log(sum);  // log p_i = logits[i] - shift
  TokenScore r;
  r.nll = shift - logits[target];
  if (out) {
    const float lo = std::max(min, max - kLogProbRange);
    const float scale = (max - lo) / 65535.0f, min_log_prob = float(lo - shift);
    std::memcpy(out, &scale, 4);
    std::memcpy(out + 4, &min_log_prob, 4);
    std::memcpy(out + 8, &argmax, 4);
    auto* q = reinterpret_cast<std::uint16_t*>(out + 12);
    std::memset(q, 0, record_bytes(vocab) - 12);
    if (scale > 0)
      for (std::size_t i = 0; i < vocab; ++i)
        if (logits[i] > lo) q[i] = std::uint16_t(std::min(65535.0f, std::nearbyint((logits[i] - lo) / scale)));
  }
  if (base) {
    float scale, min_log_prob;
    std::int32_t base_argmax;
    std::memcpy(&scale, base, 4);
    std::memcpy(&min_log_prob, base + 4, 4);
    std::memcpy(&base_argmax, base + 8, 4);
    const auto* q = reinterpret_cast<const std::uint16_t*>(base + 12);
    r.nll_base = -(min_log_prob + double(scale) * q[target]);
    for (std::size_t i = 0; i < vocab; ++i) {
      const float log_p_base = min_log_prob + scale * q[i];
      if (log_p_base > -kLogProbRange) r.kld += std::exp(log_p_base) * (log_p_base - (logits[i] - shift));
    }
    r.same_top = base_argmax == argmax;
  }
  return r;
}

// Runs f(0 ... n-1) on `threads` threads.
void parallel_for(std::size_t n, int threads, const std::function<void(std::size_t)>& f) {
  std::atomic<std::size_t> next{0};
  const auto work = [&] {
    for (std::size_t i; (i = next++) < n;) f(i);
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
}

struct Sums {
  double nll = 0, nll2 = 0, base = 0, base2 = 0, nll_base = 0, kld = 0, kld2 = 0;
  std::size_t same_top = 0;
  std::vector<float> klds;
};

struct BaseHeader {
  std::uint32_t ctx = 0, vocab = 0, chunks = 0, reserved = 0;
};

// Opens an existing base and checks it belongs to this model, text and ctx.
std::ifstream open_base(const std::string& path, const BaseHeader& want, const std::vector<std::int32_t>& tokens) {
  std::ifstream in(path, std::ios::binary);
  char magic[8] = {};
  BaseHeader h;
  if (!in || !in.read(magic, 8) || std::memcmp(magic, kBaseMagic, 8) != 0 ||
      !in.read(reinterpret_cast<char*>(&h), sizeof h))
    throw Error(path + " is not a kvlm KL base (written by kvlm perplexity --kl-base)");
  if (h.ctx != want.ctx)
    throw Error(path + " was computed with --ctx " + std::to_string(h.ctx) + ", this run has --ctx " +
                std::to_string(want.ctx));
  if (h.vocab != want.vocab)
    throw Error(path + " holds log-probs over " + std::to_string(h.vocab) + " tokens; the model's vocabulary has " +
                std::to_string(want.vocab) + ": a base of another model");
  const std::uintmax_t n = std::uintmax_t(h.chunks) * h.ctx;
  const std::uintmax_t expected = 8 + sizeof h + 4 * n + std::uintmax_t(h.chunks) * (h.ctx - 1 - h.ctx / 2) *
                                                             record_bytes(h.vocab);
  if (const auto size = std::filesystem::file_size(path); size != expected)
    throw Error(path + " is truncated or damaged (" + std::to_string(size) + " bytes, its header implies " +
                std::to_string(expected) + ")");
  std::vector<std::int32_t> base_tokens(n);
  in.read(reinterpret_cast<char*>(base_tokens.data()), std::streamsize(4 * n));
  if (h.chunks != want.chunks || !std::equal(base_tokens.begin(), base_tokens.end(), tokens.begin()))
    throw Error(path + " was computed on other tokens (" + std::to_string(h.chunks) + " chunks, this text gives " +
                std::to_string(want.chunks) + "): a base of another text or tokenizer");
  return in;
}

// Writes the base to a temporary file renamed into place once complete.
struct BaseWriter {
  std::string path, temp;
  std::ofstream out;
  BaseWriter(std::string p, const BaseHeader& h, const std::vector<std::int32_t>& tokens)
      : path(std::move(p)), temp(path + ".tmp" + std::to_string(::getpid())) {
    out.open(temp, std::ios::binary | std::ios::trunc);
    out.write(kBaseMagic, 8);
    out.write(reinterpret_cast<const char*>(&h), sizeof h);
    out.write(reinterpret_cast<const char*>(tokens.data()), std::streamsize(4 * std::size_t(h.chunks) * h.ctx));
    check();
  }
  void check() {
    if (!out) throw Error("cannot write " + temp);
  }
  void commit() {
    out.close();
    check();
    std::filesystem::rename(temp, path);
    temp.clear();
  }
  ~BaseWriter() {
    std::error_code ec;
    if (!temp.empty()) std::filesystem::remove(temp, ec);
  }
};

int run(const PerplexityOptions& o) {
  if (o.ctx < 4) throw Error("--ctx must be at least 4");
  std::ifstream text_in(o.text_file, std::ios::binary);
  if (!text_in || std::filesystem::is_directory(o.text_file)) throw Error("cannot read " + o.text_file);
  std::stringstream text;
  text << text_in.rdbuf();

  const auto path = resolve_model(o.model.model);
  const ModelFiles files = ModelFiles::open(path);
  if (!files.has("tokenizer.json")) throw Error(path.string() + " has no tokenizer.json");
  const auto tokenizer = Tokenizer::load(files);
  std::vector<std::int32_t> tokens;
  try {
    tokens = tokenizer->encode(text.str());
  } catch (const Error& e) {
    throw Error(o.text_file + ": " + e.what());
  }
  // The model "adds a BOS" when the tokenizer's special tokens lead with it.
  const auto bos = tokenizer->bos_id();
  const auto probe = tokenizer->encode("a");
  const bool add_bos = bos && probe.size() > tokenizer->encode("a", {.add_special = false}).size() && probe[0] == *bos;
  const std::size_t ctx = std::size_t(o.ctx);
  if (tokens.size() < 2 * ctx)
    throw Error("perplexity with a context of " + std::to_string(ctx) + " needs at least " + std::to_string(2 * ctx) +
                " tokens; " + o.text_file + " tokenizes to only " + std::to_string(tokens.size()));

  const auto model = Model::load(path, o.model.load_options());
  const std::size_t vocab = std::size_t(model->config().vocab_size);
  const std::size_t chunks = tokens.size() / ctx, first = ctx / 2, scored = ctx - 1 - first;
  const BaseHeader header{std::uint32_t(ctx), std::uint32_t(vocab), std::uint32_t(chunks), 0};
  State state = model->new_state(o.ctx);
  const bool compare = !o.kl_base.empty() && std::filesystem::exists(o.kl_base);
  std::ifstream base_in;
  std::unique_ptr<BaseWriter> base_out;
  if (compare) base_in = open_base(o.kl_base, header, tokens);
  if (!o.kl_base.empty() && !compare) base_out = std::make_unique<BaseWriter>(o.kl_base, header, tokens);

  const int threads = o.model.threads > 0 ? o.model.threads : int(std::max(1u, std::thread::hardware_concurrency()));
  std::vector<char> records(compare || base_out ? scored * record_bytes(vocab) : 0);
  std::vector<TokenScore> scores(scored);
  Sums sums;
  const auto t0 = Clock::now();
  for (std::size_t c = 0; c < chunks; ++c) {
    const auto begin = tokens.begin() + std::ptrdiff_t(c * ctx);
    std::vector<std::int32_t> ids(begin, begin + std::ptrdiff_t(ctx));
    if (add_bos) ids[0] = *bos;
    state.reset();
    const std::vector<float> logits = model->forward(ids, state, LogitsMode::all);
    if (compare && !base_in.read(records.data(), std::streamsize(records.size())))
      throw Error("cannot read " + o.kl_base);
    parallel_for(scored, threads, [&](std::size_t j) {
      char* record = records.data() + j * record_bytes(vocab);
      scores[j] = score(logits.data() + (first + j) * vocab, vocab, ids[first + j + 1], compare ? record : nullptr,
                        base_out ? record : nullptr);
    });
    for (const TokenScore& t : scores) {  // in order: the sums do not depend on the thread count
      sums.nll += t.nll, sums.nll2 += t.nll * t.nll;
      sums.base += t.nll_base, sums.base2 += t.nll_base * t.nll_base, sums.nll_base += t.nll * t.nll_base;
      sums.kld += t.kld, sums.kld2 += t.kld * t.kld, sums.same_top += t.same_top;
      if (compare) sums.klds.push_back(float(t.kld));
    }
    if (base_out) {
      base_out->out.write(records.data(), std::streamsize(records.size()));
      base_out->check();
    }
    std::fprintf(stderr, "[%zu]%.4f,", c + 1, std::exp(sums.nll / double((c + 1) * scored)));
    std::fflush(stderr);
  }
  const double seconds = ms_since(t0) / 1e3;
  std::fprintf(stderr, "\n%zu chunks in %.1f s (%.0f tokens/s)\n", chunks, seconds, double(chunks * ctx) / seconds);
  if (base_out) base_out->commit();

  const std::size_t count = chunks * scored;
  const auto [mean_nll, nll_err] = mean_and_error(sums.nll, sums.nll2, count);
  const double ppl = std::exp(mean_nll);
  nlohmann::json j = {{"model", o.model.model}, {"dtype", dtype_name(model->dtype())}, {"text", o.text_file},
                      {"ctx", ctx},  {"tokens", tokens.size()}, {"chunks", chunks}, {"scored", count},
                      {"perplexity", ppl}, {"perplexity_error", ppl * nll_err}};
  std::string out = fmt::format(
      "perplexity {:.4f} +/- {:.5f} ({} chunks of {} tokens, {} tokens scored; {}: {} tokens)\n",
                                ppl, ppl * nll_err, chunks, ctx, count, o.text_file, tokens.size());
  if (base_out) {
    j["kl_base_written"] = o.kl_base;
    out += fmt::format("wrote the KL base {} ({:.1f} MB)\n", o.kl_base,
                       double(std::filesystem::file_size(o.kl_base)) / 1e6);
  }
  if (compare) {
    // As llama.cpp's --kl-divergence report: the base's perplexity, the log
    // ratio (its error with the covariance of the two NLLs), KLD statistics and
    // how often the two argmaxes agree.
    const auto [mean_base, base_err] = mean_and_error(sums.base, sums.base2, count);
    const double cov = (sums.nll_base / double(count) - mean_nll * mean_base) / double(count - 1);
    const double ratio_err = std::sqrt(std::max(0.0, nll_err * nll_err + base_err * base_err - 2 * cov));
    const auto [kld, kld_err] = mean_and_error(sums.kld, sums.kld2, count);
    std::sort(sums.klds.begin(), sums.klds.end());
    const double same = double(sums.same_top) / double(count);
    const double same_err = std::sqrt(same * (1 - same) / double(count - 1));
    const double base_ppl = std::exp(mean_base);
    j["kl"] = {{"base", o.kl_base}, {"base_perplexity", base_ppl}, {"base_perplexity_error", base_ppl * base_err},
               {"ln_ppl_ratio", mean_nll - mean_base}, {"ln_ppl_ratio_error", ratio_err}, {"mean_kld", kld},
               {"mean_kld_error", kld_err}, {"same_top_p", 100 * same}, {"same_top_p_error", 100 * same_err}};
    out += fmt::format("base perplexity {:.4f} +/- {:.5f}\n", base_ppl, base_ppl * base_err);
    out += fmt::format("Mean ln(PPL(Q)/PPL(base)): {:.6f} +/- {:.6f}\n", mean_nll - mean_base, ratio_err);
    out += fmt::format("Mean    KLD: {:.6f} +/- {:.6f}\n", kld, kld_err);
    const struct {
      const char *key, *label;
      double fraction;
    } quantiles[] = {{"max_kld", "Maximum", 1.0}, {"kld_99_9", "99.9%  ", 0.999}, {"kld_99", "99.0%  ", 0.99},
                     {"kld_95", "95.0%  ", 0.95}, {"median_kld", "Median ", 0.5}};
    for (const auto& q : quantiles) {
      j["kl"][q.key] = percentile(sums.klds, q.fraction);
      out += fmt::format("{} KLD: {:.6f}\n", q.label, percentile(sums.klds, q.fraction));
    }
    out += fmt::format("Same top p: {:.3f} +/- {:.3f} %\n", 100 * same, 100 * same_err);
  }
  if (o.json) out = j.dump() + "\n";
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

const CommandRegistration registration{
    "perplexity", "Perplexity of a text file (llama-perplexity's chunks); --kl-base: KL divergence from a base",
    [](CLI::App& sub) {
      auto o = std::make_shared<PerplexityOptions>();
      o->model.add_to(sub);
      sub.add_option("-f,--file", o->text_file, "text file (tokenized whole, with the BOS)")->required();
      sub.add_option("--ctx", o->ctx, "chunk size in tokens; the second half of each chunk is scored")
          ->check(integer_at_least(4));
      sub.add_option("--kl-base", o->kl_base,
                     "FILE: write the scored log-probs there when it does not exist (the base run), else report "
                     "the KL divergence from them");
      sub.add_flag("--json", o->json, "print one JSON object");
      return [o] { return run(*o); };
    }};

}  // namespace
}  // namespace kvlm::cli
