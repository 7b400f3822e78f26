// kvlm eval: runs every case of an evaluation pack (jsonl) and reports output,
// token counts, timings, must_contain / must_not_contain verdicts and chrF
// against the reference. kvlm smoke: the capital-of-France case. Both exit 1
// when any case with must_contain / must_not_contain checks fails.
#include <algorithm>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>

#include "command.h"
#include "generation_options.h"
#include "kvlm/providers.h"
#include "json_numbers.h"
#include "loading_notice.h"
#include "model_options.h"
#include "numeric_checks.h"
#include "timing.h"

namespace kvlm::cli {
namespace {

// UTF-8 code points of `s` with every whitespace character removed.
std::vector<std::u32string::value_type> code_points_no_space(const std::string& s) {
  std::vector<char32_t> out;
  for (std::size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    const int n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
    char32_t cp = n == 1 ? c : n == 2 ? (c & 0x1F) : n == 3 ? (c & 0x0F) : (c & 0x07);
    for (int k = 1; k < n && i + std::size_t(k) < s.size(); ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    i += std::size_t(n);
    // Python's str.split() whitespace (ASCII and the common Unicode spaces).
    const bool space = cp == ' ' || (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x1F) || cp == 0x85 ||
                       cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 ||
                       cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
    if (!space) out.push_back(cp);
  }
  return out;
}

// Sentence chrF as sacrebleu computes it (char order 6, word order 0, beta 2,
// whitespace removed, no eps smoothing), 0..100.
double chrf(const std::string& hypothesis, const std::string& reference) {
  const auto hyp = code_points_no_space(hypothesis), ref = code_points_no_space(reference);
  constexpr int kOrder = 6;
  constexpr double kBeta2 = 4.0;
  double avg_prec = 0, avg_rec = 0;
  int effective = 0;
  for (int n = 1; n <= kOrder; ++n) {
    std::map<std::u32string, int> h, r;
    for (std::size_t i = 0; i + std::size_t(n) <= hyp.size(); ++i) ++h[std::u32string(hyp.begin() + long(i), hyp.begin() + long(i) + n)];
    for (std::size_t i = 0; i + std::size_t(n) <= ref.size(); ++i) ++r[std::u32string(ref.begin() + long(i), ref.begin() + long(i) + n)];
    int n_hyp = 0, n_ref = 0, n_match = 0;
    for (const auto& [g, c] : h) {
      n_hyp += c;
      if (const auto it = r.find(g); it != r.end()) n_match += std::min(c, it->second);
    }
    for (const auto& [g, c] : r) n_ref += c;
    if (n_hyp > 0 && n_ref > 0) {
      avg_prec += double(n_match) / n_hyp;
      avg_rec += double(n_match) / n_ref;
      ++effective;
    }
  }
  if (effective == 0) return 0.0;
  avg_prec /= effective;
  avg_rec /= effective;
  if (avg_prec + avg_rec == 0) return 0.0;
  return 100.0 * (1 + kBeta2) * avg_prec * avg_rec / (kBeta2 * avg_prec + avg_rec);
}

std::string lower(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
  return s;
}

bool string_list(const nlohmann::json& v) {
  return v.is_array() && std::all_of(v.begin(), v.end(), [](const nlohmann::json& s) { return s.is_string(); });
}

// Every field the report reads has its type, and none is one the case ignores.
void check_case_fields(const nlohmann::json& j, bool chat_case, const std::string& where) {
  const auto need = [&](const char* key, const std::function<bool(const nlohmann::json&)>& ok, const std::string& what) {
    if (const auto it = j.find(key); it != j.end() && !ok(*it)) throw Error(where + ": \"" + key + "\" " + what);
  };
  const auto is_string = [](const nlohmann::json& v) { return v.is_string(); };
  need("id", is_string, "must be a string");
  need("reference", is_string, "must be a string");
  need("must_contain", string_list, "must be a list of strings");
  need("must_not_contain", string_list, "must be a list of strings");
  if (chat_case) {
    need("system", is_string, "must be a string");
    need("max_new_tokens", [](const nlohmann::json&) { return false; }, "applies to \"prompt\" cases only (use -n)");
  } else {
    need("system", [](const nlohmann::json&) { return false; }, "applies to \"input\" cases only");
    need("max_new_tokens", [](const nlohmann::json& v) {
      return v.is_number_integer() && v.get<long long>() > 0 && v.get<long long>() <= (1 << 20);
    }, "must be a positive integer");
  }
}

std::vector<nlohmann::json> read_pack(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw Error("cannot read pack " + path.string());
  std::vector<nlohmann::json> cases;
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object())
      throw Error(path.string() + ": line " + std::to_string(n) + " is not a JSON object");
    for (auto it = j.begin(); it != j.end();) it = it->is_null() ? j.erase(it) : std::next(it);  // null: absent
    const std::string where = path.string() + ": line " + std::to_string(n);
    const bool chat_case = j.contains("input") && j["input"].is_string();
    const bool completion = j.contains("prompt") && j["prompt"].is_string();
    if (!chat_case && !completion) throw Error(where + " has neither \"input\" nor \"prompt\"");
    if (chat_case && j.contains("prompt")) throw Error(where + " has both \"input\" and \"prompt\"");
    check_case_fields(j, chat_case, where);
    cases.push_back(std::move(j));
  }
  if (cases.empty()) throw Error(path.string() + ": no cases");
  return cases;
}

struct EvalOptions {
  ModelOptions model;
  std::string pack;
  std::string date;
  bool json = false;
  int max_new = 128;
  int ctx = 0;
};

// The CoreML port on an Apple M1 Pro (the system kvlm replaces): its fastest
// reported warm prefill (30-token prompts; it reported 168-588 ms for 30-80)
// plus 130 ms per decode step. Taking its fastest prefill makes the
// comparison conservative.
constexpr double kPortWarmPrefillMs = 168.0;
constexpr double kPortDecodeMsPerStep = 130.0;

std::vector<std::string> strings(const nlohmann::json& j, const char* key) {
  std::vector<std::string> out;
  if (j.contains(key) && j[key].is_array())
    for (const auto& s : j[key])
      if (s.is_string()) out.push_back(s.get<std::string>());
  return out;
}

// Runs the pack; returns the report object.
nlohmann::json evaluate(const EvalOptions& o, bool print_lines) {
  const auto pack_path = find_pack(o.pack);
  const auto cases = read_pack(pack_path);
  PromptedProvider provider;
  ProviderOptions po;
  po.load = o.model.load_options();
  po.max_ctx = o.ctx;
  po.max_new_tokens = o.max_new;
  if (!o.date.empty()) po.date = o.date;
  {
    LoadingNotice notice(o.model.model, !o.json);
    provider.configure(o.model.model, po);
  }

  nlohmann::json report;
  report["model"] = o.model.model;
  report["pack"] = pack_path.string();
  nlohmann::json out_cases = nlohmann::json::array();
  int with_checks = 0, passed = 0, with_ref = 0;
  double chrf_sum = 0, prefill_ms_sum = 0, decode_sum = 0;
  int decode_cases = 0;
  std::vector<double> totals, vs_port;
  for (const auto& c : cases) {
    ProviderResult r;
    const auto start = Clock::now();
    if (c.contains("input")) {
      r = provider.respond(c.value("system", ""), c["input"].get<std::string>());
    } else {
      r = provider.complete(c["prompt"].get<std::string>(), c.value("max_new_tokens", o.max_new));
      r.text = c["prompt"].get<std::string>() + r.text;  // a completion is judged with its prompt
    }
    // End to end: template, tokenization, prefill (prefix reused), decode, detokenization.
    const double total_ms = ms_since(start);
    const double port_ms = kPortWarmPrefillMs + kPortDecodeMsPerStep * r.timings.decode_steps;
    totals.push_back(total_ms);
    vs_port.push_back(total_ms / port_ms);
    nlohmann::json j;
    j["id"] = c.value("id", "");
    j["output"] = r.text;
    j["stop_reason"] = stop_reason_name(r.stop_reason);
    j["prompt_tokens"] = r.timings.prompt_tokens;
    j["prefill_tokens"] = r.timings.prefill_tokens;
    j["prefill_ms"] = json_ms(r.timings.prefill_ms);
    j["decode_ms_per_token"] = json_ms(r.timings.decode_ms_per_token());
    j["decode_steps"] = r.timings.decode_steps;
    j["total_ms"] = json_ms(total_ms);
    j["port_m1_ms"] = json_ms(port_ms);
    const std::string out_lower = lower(r.text);
    bool ok = true;
    const auto contain = strings(c, "must_contain"), not_contain = strings(c, "must_not_contain");
    nlohmann::json mc = nlohmann::json::object(), mnc = nlohmann::json::object();
    for (const auto& s : contain) ok &= (mc[s] = out_lower.find(lower(s)) != std::string::npos).get<bool>();
    for (const auto& s : not_contain) ok &= (mnc[s] = out_lower.find(lower(s)) == std::string::npos).get<bool>();
    if (c.contains("must_contain")) j["must_contain"] = mc;
    if (c.contains("must_not_contain")) j["must_not_contain"] = mnc;
    if (!contain.empty() || !not_contain.empty()) {
      j["pass"] = ok;
      ++with_checks;
      passed += ok;
    }
    if (c.contains("reference") && c["reference"].is_string()) {
      const double score = chrf(r.text, c["reference"].get<std::string>());
      j["reference"] = c["reference"];
      j["chrf"] = json_round(score, 2);
      chrf_sum += score;
      ++with_ref;
    }
    prefill_ms_sum += r.timings.prefill_ms;
    if (r.timings.decode_steps > 0) {
      decode_sum += r.timings.decode_ms_per_token();
      ++decode_cases;
    }
    if (print_lines) {
      std::string line = "[" + j["id"].get<std::string>() + "] " + r.text;
      for (char& ch : line)
        if (ch == '\n') ch = ' ';
      std::fprintf(stdout,
                   "%s\n    prompt %d tokens (%d prefilled), prefill %.1f ms, decode %.2f ms/token, total %.0f ms "
                   "(%.0f%% of the port's M1 Pro)",
                   line.c_str(), r.timings.prompt_tokens, r.timings.prefill_tokens, r.timings.prefill_ms,
                   r.timings.decode_ms_per_token(), total_ms, 100.0 * total_ms / port_ms);
      if (j.contains("chrf")) std::fprintf(stdout, ", chrF %.1f", j["chrf"].get<double>());
      if (j.contains("pass")) std::fprintf(stdout, ", %s", ok ? "pass" : "FAIL");
      std::fprintf(stdout, "\n");
      std::fflush(stdout);
    }
    out_cases.push_back(std::move(j));
  }
  report["cases"] = out_cases;
  report["summary"] = {{"cases", cases.size()},
                       {"checked", with_checks},
                       {"passed", passed},
                       {"mean_chrf", with_ref ? nlohmann::json(json_round(chrf_sum / with_ref, 2)) : nlohmann::json()},
                       {"mean_prefill_ms", json_ms(prefill_ms_sum / double(cases.size()))},
                       {"mean_decode_ms_per_token", json_ms(decode_cases ? decode_sum / decode_cases : 0.0)},
                       {"median_total_ms", json_ms(median(totals))},
                       {"median_vs_port_m1", json_ratio(median(vs_port))}};
  return report;
}

void print_summary(const nlohmann::json& s) {
  std::printf("summary: %d cases, %d of %d checked cases pass", s["cases"].get<int>(), s["passed"].get<int>(),
              s["checked"].get<int>());
  if (!s["mean_chrf"].is_null()) std::printf(", mean chrF %.1f", s["mean_chrf"].get<double>());
  std::printf(", mean prefill %.1f ms, mean decode %.2f ms/token\n", s["mean_prefill_ms"].get<double>(),
              s["mean_decode_ms_per_token"].get<double>());
  std::printf("end to end: median %.0f ms per case, median %.0f%% of the CoreML port's M1 Pro time (%.0f ms warm "
              "prefill + %.0f ms per decode step)\n",
              s["median_total_ms"].get<double>(), 100.0 * s["median_vs_port_m1"].get<double>(), kPortWarmPrefillMs,
              kPortDecodeMsPerStep);
}

// eval and smoke alike: 1 when a checked case fails (an unchecked case, with
// only a reference, cannot fail).
int exit_status(const nlohmann::json& report) {
  const auto& s = report["summary"];
  return s["passed"] == s["checked"] ? 0 : 1;
}

void add_eval_options(CLI::App& sub, EvalOptions& o) {
  o.model.add_to(sub, /*required=*/false);
  sub.add_flag("--json", o.json, "print one JSON report object");
  sub.add_option("-n,--max-new", o.max_new, "maximum new tokens per case (a case's max_new_tokens wins)")
      ->check(integer_at_least(1));
  sub.add_option("--ctx", o.ctx, "context size in tokens, at most the model's max positions")
      ->check(integer_at_least(1))
      ->default_str("512");
  sub.add_option("--date", o.date, "YYYY-MM-DD: the template's today");
}

const CommandRegistration eval_registration{
    "eval", "Run an evaluation pack (jsonl) and report; exit status 1 when a checked case fails", [](CLI::App& sub) {
  auto o = std::make_shared<EvalOptions>();
  add_eval_options(sub, *o);
  sub.add_option("--pack", o->pack, "pack file, or a name under packs/ (translation-fr, postprocess, smoke)")->required();
  return [o] {
    const nlohmann::json report = evaluate(*o, !o->json);
    if (o->json)
      write_stdout(report.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
    else
      print_summary(report["summary"]);
    return exit_status(report);
  };
}};

const CommandRegistration smoke_registration{"smoke", "The capital-of-France smoke case (packs/smoke.jsonl)", [](CLI::App& sub) {
  auto o = std::make_shared<EvalOptions>();
  add_eval_options(sub, *o);
  o->pack = "smoke.jsonl";
  return [o] {
    const nlohmann::json report = evaluate(*o, !o->json);
    if (o->json) write_stdout(report.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
    const int status = exit_status(report);
    if (!o->json) std::printf("smoke: %s\n", status == 0 ? "PASS" : "FAIL");
    return status;
  };
}};

}  // namespace
}  // namespace kvlm::cli
