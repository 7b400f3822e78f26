// kvlm translate / kvlm copyedit: the two services, one request per argument or
// per stdin line ('-'), one output line each. In a batch a line that fails is
// reported by its line number and the batch carries on (exit status 1 at the
// end); blank lines are skipped.
#include <iostream>
#include <nlohmann/json.hpp>

#include "command.h"
#include "generation_options.h"
#include "kvlm/model_files.h"
#include "kvlm/providers.h"
#include "json_numbers.h"
#include "loading_notice.h"
#include "model_options.h"
#include "numeric_checks.h"

namespace kvlm::cli {
namespace {

struct ServiceOptions {
  ModelOptions model;
  std::string from, to;
  std::string text;
  std::string date;
  bool print_prompt = false;
  bool json = false;
  bool no_prefix_reuse = false;
  int max_new = 256;
  int ctx = 0;

  ProviderOptions provider_options() const {
    ProviderOptions p;
    p.load = model.load_options();
    p.max_ctx = ctx;
    p.max_new_tokens = max_new;
    p.prefix_reuse = !no_prefix_reuse;
    if (!date.empty()) p.date = date;
    return p;
  }
};

void add_common(CLI::App& sub, ServiceOptions& o) {
  o.model.add_to(sub, /*required=*/false);
  o.model.add_cache_flag(sub);
  sub.add_option("text", o.text,
                 "text to process, or '-' for one request per stdin line: one output line per non-blank input "
                 "line, in order (blank lines are skipped, with no output line); a line that fails prints "
                 "'kvlm: error: line N: ...' on stderr and an empty line (with --json an {\"line\", \"error\"} "
                 "object), the batch goes on, and the exit status is 1")
      ->required();
  sub.add_flag("--print-prompt", o.print_prompt, "print the rendered prompt instead of running the model");
  sub.add_flag("--json", o.json, "one JSON object per request: line, text, prompt/prefill tokens, timings");
  sub.add_flag("--no-prefix-reuse", o.no_prefix_reuse, "prefill the system prompt on every request");
  sub.add_option("-n,--max-new", o.max_new,
                 "maximum new tokens per request (a line's translation or edit; run's default is 128, chat's 512)")
      ->check(integer_at_least(1));
  sub.add_option("--ctx", o.ctx, "context size in tokens, at most the model's max positions")
      ->check(integer_at_least(1))
      ->default_str("512");
  sub.add_option("--date", o.date, "YYYY-MM-DD: the template's today");
}

// Runs `one` (text, line number) -> output on the argument or on each
// non-blank stdin line and writes its output. A request that throws is
// reported (line number; an empty output line, or a JSON error object with
// --json) and the batch goes on; returns the exit status: 1 when any failed.
template <typename F>
int for_each_request(const ServiceOptions& o, F&& one) {
  if (o.text != "-") {
    write_stdout(one(o.text, 0));
    return 0;
  }
  std::string line;
  int line_number = 0, requests = 0, failed = 0;
  while (std::getline(std::cin, line)) {
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t\f\v") == std::string::npos) continue;
    ++requests;
    std::string out;
    try {
      out = one(line, line_number);
    } catch (const Error& e) {
      ++failed;
      std::fprintf(stderr, "%.*sline %d: %s\n", int(kErrorPrefix.size()), kErrorPrefix.data(), line_number, e.what());
      out = o.json ? nlohmann::json({{"line", line_number}, {"error", e.what()}})
                             .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
                         "\n"
                   : "\n";
    }
    write_stdout(out);  // outside the try: a closed stdout ends the batch
  }
  if (requests == 0) throw Error("no input on stdin (one request per line)");
  if (failed) std::fprintf(stderr, "%.*s%d of %d lines failed\n", int(kErrorPrefix.size()), kErrorPrefix.data(), failed, requests);
  return failed ? 1 : 0;
}

std::string one_line(std::string s) {
  for (char& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  return s;
}

// line: the stdin line number in a batch (0: the argument, not shown).
std::string format_result(const ServiceOptions& o, const ProviderResult& r, int line) {
  if (!o.json) return one_line(r.text) + "\n";
  const Timings& t = r.timings;
  nlohmann::json j = {{"text", r.text},
                      {"stop_reason", stop_reason_name(r.stop_reason)},
                      {"prompt_tokens", t.prompt_tokens},
                      {"cached_tokens", t.cached_tokens},
                      {"prefill_tokens", t.prefill_tokens},
                      {"prefill_ms", json_ms(t.prefill_ms)},
                      {"first_token_ms", json_ms(t.first_token_ms)},
                      {"decode_steps", t.decode_steps},
                      {"decode_ms_per_token", json_ms(t.decode_ms_per_token())}};
  if (line > 0) j["line"] = line;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

// --print-prompt needs only the template: render without loading weights.
std::string render_only(const ServiceOptions& o, const std::string& system, const std::string& user) {
  const ModelFiles files = ModelFiles::open(resolve_model(o.model.model));
  const ChatTemplate t = ChatTemplate::load(files);
  RenderOptions ro;
  if (!o.date.empty()) ro.date = o.date;
  return t.render(std::vector<ChatMessage>{{"system", system}, {"user", user}}, true, ro);
}

const CommandRegistration translate_registration{
    "translate", "Translate text (greedy, system prompt prefilled once)", [](CLI::App& sub) {
      auto o = std::make_shared<ServiceOptions>();
      add_common(sub, *o);
      sub.add_option("--from", o->from, "source language, named in the system prompt (optional)");
      sub.add_option("--to", o->to, "target language, e.g. French")->required();
      return [o] {
        if (o->print_prompt)
          return for_each_request(*o, [&](const std::string& text, int) {
            return render_only(*o, TranslationProvider::system_prompt(o->from, o->to), text);
          });
        TranslationProvider provider;
        {
          const auto path = o->model.resolve();  // packs with its own notice and progress
          LoadingNotice notice(o->model.model, !o->json);
          provider.configure(path.string(), o->provider_options());
        }
        return for_each_request(*o, [&](const std::string& text, int line) {
          return format_result(*o, provider.translate_ex(text, o->from, o->to, nullptr), line);
        });
      };
    }};

const CommandRegistration copyedit_registration{
    "copyedit", "Light-touch copy-edit of a speech transcript (greedy)", [](CLI::App& sub) {
      auto o = std::make_shared<ServiceOptions>();
      add_common(sub, *o);
      return [o] {
        if (o->print_prompt)
          return for_each_request(*o, [&](const std::string& text, int) {
            return render_only(*o, CopyEditProvider::system_prompt(), text);
          });
        CopyEditProvider provider;
        {
          const auto path = o->model.resolve();  // packs with its own notice and progress
          LoadingNotice notice(o->model.model, !o->json);
          provider.configure(path.string(), o->provider_options());
        }
        return for_each_request(*o, [&](const std::string& text, int line) {
          return format_result(*o, provider.copyedit_ex(text, nullptr), line);
        });
      };
    }};

}  // namespace
}  // namespace kvlm::cli
