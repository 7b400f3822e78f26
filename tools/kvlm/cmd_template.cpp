// kvlm template: render a chat prompt with the model's chat template, exactly
// as transformers' apply_chat_template would.
//   --messages FILE.json: a list of messages, or {"messages": [...], "tools":
//     [...], other template variables}; the prompt goes to stdout verbatim.
//   --jsonl: one {"messages": [...], "add_generation_prompt": b, ...} a line on
//     stdin, one {"rendered": ...} or {"error": ...} a line on stdout.
#include <fmt/format.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "command.h"
#include "kvlm/chat_template.h"
#include "kvlm/error.h"
#include "kvlm/providers.h"

namespace kvlm::cli {
namespace {

using ojson = nlohmann::ordered_json;

struct TemplateOptions {
  std::string model;
  std::string messages_file;
  bool jsonl = false;
  bool no_generation_prompt = false;
  std::string date;
};

// Splits a request object into messages and the remaining template variables.
ojson split_request(const ojson& request, RenderOptions& options, bool* add_generation_prompt) {
  if (request.is_array()) return request;
  ojson extra = ojson::object();
  if (!request.is_object() || !request.contains("messages"))
    throw Error("expected a list of messages or an object with \"messages\"");
  for (const auto& [key, value] : request.items()) {
    if (key == "messages") continue;
    if (key == "add_generation_prompt") {
      if (add_generation_prompt) {
        if (!value.is_boolean()) throw Error("add_generation_prompt must be true or false");
        *add_generation_prompt = value.get<bool>();
      }
      continue;
    }
    extra[key] = value;
  }
  options.extra_json = extra.dump();
  return request["messages"];
}

void write_all(const std::string& s) {
  if (std::fwrite(s.data(), 1, s.size(), stdout) != s.size()) throw Error("cannot write to stdout");
}

int run_messages(const ChatTemplate& tmpl, const TemplateOptions& o, const RenderOptions& base) {
  std::ifstream f(o.messages_file, std::ios::binary);
  if (!f) throw Error("cannot open " + o.messages_file);
  std::ostringstream ss;
  ss << f.rdbuf();
  const ojson request = ojson::parse(ss.str(), nullptr, false);
  if (request.is_discarded()) throw Error(o.messages_file + ": invalid JSON");
  RenderOptions options = base;
  const ojson messages = split_request(request, options, nullptr);
  write_all(tmpl.render_json(messages.dump(), !o.no_generation_prompt, options));
  std::fflush(stdout);
  return 0;
}

int run_jsonl(const ChatTemplate& tmpl, const RenderOptions& base) {
  std::string line;
  while (std::getline(std::cin, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    ojson reply;
    try {
      const ojson request = ojson::parse(line, nullptr, false);
      if (request.is_discarded()) throw Error("invalid JSON");
      RenderOptions options = base;
      bool add_generation_prompt = true;
      const ojson messages = split_request(request, options, &add_generation_prompt);
      reply["rendered"] = tmpl.render_json(messages.dump(), add_generation_prompt, options);
    } catch (const Error& e) {
      reply = ojson::object();
      reply["error"] = e.what();
    }
    write_all(reply.dump(-1, ' ', false, ojson::error_handler_t::replace) + "\n");
    std::fflush(stdout);
  }
  return 0;
}

const CommandRegistration registration{
    "template", "Render a chat prompt with the model's chat template (as transformers does)", [](CLI::App& sub) {
      auto o = std::make_shared<TemplateOptions>();
      sub.add_option("-m,--model", o->model, "model: a directory (tokenizer_config.json and/or chat_template.jinja), a .kvlm package, a .gguf or kv:NAME (no weights are loaded)")
          ->required();
      auto* messages = sub.add_option("--messages", o->messages_file,
                                      "JSON file: a list of messages or {\"messages\": [...], \"tools\": [...], ...}");
      auto* jsonl = sub.add_flag("--jsonl", o->jsonl,
                                 "stdin: one {\"messages\", \"add_generation_prompt\", ...} per line; "
                                 "stdout: one {\"rendered\"} or {\"error\"} per line");
      messages->excludes(jsonl);
      sub.add_flag("--no-generation-prompt", o->no_generation_prompt, "leave out the assistant header (--messages)")
          ->excludes(jsonl);
      sub.add_option("--date", o->date, "YYYY-MM-DD: the day strftime_now() sees (default: today)");
      return [o] {
        if (o->messages_file.empty() && !o->jsonl) throw Error("template: give --messages FILE.json or --jsonl");
        const ChatTemplate tmpl = ChatTemplate::load(resolve_model(o->model));
        RenderOptions base;
        if (!o->date.empty()) {
          base.date = o->date;
          ChatTemplate::from_string("").render({}, false, base);  // rejects a bad date up front
        }
        return o->jsonl ? run_jsonl(tmpl, base) : run_messages(tmpl, *o, base);
      };
    }};

}  // namespace
}  // namespace kvlm::cli
