// kvlm translate / kvlm copyedit: the two services, one request per argument or
// per stdin line ('-'), one output line each.
#include <iostream>
#include <nlohmann/json.hpp>

#include "command.h"
#include "generation_options.h"
#include "kvlm/model_files.h"
#include "kvlm/providers.h"
#include "model_options.h"

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
  sub.add_option("text", o.text, "text to process, or '-' for one request per stdin line")->required();
  sub.add_flag("--print-prompt", o.print_prompt, "print the rendered prompt instead of running the model");
  sub.add_flag("--json", o.json, "one JSON object per request: text, prompt/prefill tokens, timings");
  sub.add_flag("--no-prefix-reuse", o.no_prefix_reuse, "prefill the system prompt on every request");
  sub.add_option("-n,--max-new", o.max_new, "maximum new tokens per request")->check(CLI::PositiveNumber);
  sub.add_option("--ctx", o.ctx, "context size (default 512)")->check(CLI::PositiveNumber);
  sub.add_option("--date", o.date, "YYYY-MM-DD: the template's today");
}

// Runs `one` on the argument or on each stdin line; outputs stay one line each.
template <typename F>
int for_each_request(const ServiceOptions& o, F&& one) {
  if (o.text != "-") {
    one(o.text);
    return 0;
  }
  std::string line;
  int n = 0;
  while (std::getline(std::cin, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    one(line);
    ++n;
  }
  if (n == 0) throw Error("no input on stdin (one request per line)");
  return 0;
}

std::string one_line(std::string s) {
  for (char& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  return s;
}

void print_result(const ServiceOptions& o, const ProviderResult& r) {
  if (!o.json) {
    write_stdout(one_line(r.text) + "\n");
    return;
  }
  const Timings& t = r.timings;
  nlohmann::json j = {{"text", r.text},
                      {"stop_reason", stop_reason_name(r.stop_reason)},
                      {"prompt_tokens", t.prompt_tokens},
                      {"cached_tokens", t.cached_tokens},
                      {"prefill_tokens", t.prefill_tokens},
                      {"prefill_ms", t.prefill_ms},
                      {"first_token_ms", t.first_token_ms},
                      {"decode_steps", t.decode_steps},
                      {"decode_ms_per_token", t.decode_ms_per_token()}};
  write_stdout(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
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
          return for_each_request(*o, [&](const std::string& text) {
            write_stdout(render_only(*o, TranslationProvider::system_prompt(o->from, o->to), text));
          });
        TranslationProvider provider;
        provider.configure(o->model.model, o->provider_options());
        return for_each_request(*o, [&](const std::string& text) {
          print_result(*o, provider.translate_ex(text, o->from, o->to, nullptr));
        });
      };
    }};

const CommandRegistration copyedit_registration{
    "copyedit", "Light-touch copy-edit of a speech transcript (greedy)", [](CLI::App& sub) {
      auto o = std::make_shared<ServiceOptions>();
      add_common(sub, *o);
      return [o] {
        if (o->print_prompt)
          return for_each_request(*o, [&](const std::string& text) {
            write_stdout(render_only(*o, CopyEditProvider::system_prompt(), text));
          });
        CopyEditProvider provider;
        provider.configure(o->model.model, o->provider_options());
        return for_each_request(*o, [&](const std::string& text) { print_result(*o, provider.copyedit_ex(text, nullptr)); });
      };
    }};

}  // namespace
}  // namespace kvlm::cli
