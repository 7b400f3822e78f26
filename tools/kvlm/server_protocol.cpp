#include "server_protocol.h"

#include <cmath>

#include "kvlm/providers.h"

namespace kvlm::server {

using nlohmann::json;

namespace {

[[noreturn]] void invalid(const std::string& message, const std::string& param = {}) {
  throw RequestError(400, "invalid_request_error", message, param);
}

json parse_object(const std::string& body) {
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) invalid("the request body is not valid JSON");
  if (!j.is_object()) invalid("the request body must be a JSON object");
  return j;
}

// A field that may be absent or null; present with the wrong type is an error.
const json* field(const json& j, const char* name) {
  const auto it = j.find(name);
  return it == j.end() || it->is_null() ? nullptr : &*it;
}

std::string required_string(const json& j, const char* name) {
  const json* v = field(j, name);
  if (!v) invalid(std::string("'") + name + "' is required", name);
  if (!v->is_string()) invalid(std::string("'") + name + "' must be a string", name);
  return v->get<std::string>();
}

std::optional<double> number_in(const json& j, const char* name, double lo, double hi) {
  const json* v = field(j, name);
  if (!v) return std::nullopt;
  if (!v->is_number()) invalid(std::string("'") + name + "' must be a number", name);
  const double x = v->get<double>();
  if (!std::isfinite(x) || x < lo || x > hi)
    invalid(std::string("'") + name + "' must be between " + json(lo).dump() + " and " + json(hi).dump(), name);
  return x;
}

bool boolean(const json& j, const char* name) {
  const json* v = field(j, name);
  if (!v) return false;
  if (!v->is_boolean()) invalid(std::string("'") + name + "' must be true or false", name);
  return v->get<bool>();
}

// The fields chat and completion requests share.
void parse_common(const json& j, GenerationRequest& r) {
  if (const json* m = field(j, "model"); m && !m->is_string()) invalid("'model' must be a string", "model");
  if (const json* n = field(j, "n"); n && (!n->is_number_integer() || n->get<std::int64_t>() != 1))
    invalid("only n = 1 is supported", "n");
  const char* max_name = field(j, "max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
  if (const json* v = field(j, max_name)) {
    if (!v->is_number_integer() || v->get<std::int64_t>() < 1 || v->get<std::int64_t>() > 1000000)
      invalid(std::string("'") + max_name + "' must be an integer from 1 to 1000000", max_name);
    r.max_tokens = int(v->get<std::int64_t>());
  }
  r.stream = boolean(j, "stream");
  if (const json* so = field(j, "stream_options")) {
    if (!so->is_object()) invalid("'stream_options' must be an object", "stream_options");
    r.include_usage = boolean(*so, "include_usage");
  }
  r.temperature = number_in(j, "temperature", 0.0, 2.0);
  r.top_p = number_in(j, "top_p", 0.0, 1.0);
  if (r.top_p && *r.top_p == 0.0) invalid("'top_p' must be above 0", "top_p");
  if (const json* v = field(j, "seed")) {
    if (!v->is_number_integer()) invalid("'seed' must be an integer", "seed");
    r.seed = v->is_number_unsigned() ? v->get<std::uint64_t>() : std::uint64_t(v->get<std::int64_t>());
  }
  if (const json* v = field(j, "stop")) {
    if (v->is_string()) {
      r.stop.push_back(v->get<std::string>());
    } else if (v->is_array()) {
      if (v->size() > 4) invalid("'stop' takes at most 4 strings", "stop");
      for (const json& s : *v) {
        if (!s.is_string()) invalid("'stop' must be a string or an array of strings", "stop");
        r.stop.push_back(s.get<std::string>());
      }
    } else {
      invalid("'stop' must be a string or an array of strings", "stop");
    }
    for (const auto& s : r.stop)
      if (s.empty()) invalid("'stop' strings must not be empty", "stop");
  }
}

// A message's content: a string, or an array of {"type": "text", "text": ...} parts.
std::string message_content(const json& m, std::size_t i) {
  const std::string where = "messages[" + std::to_string(i) + "].content";
  const json* c = field(m, "content");
  if (!c) invalid("'" + where + "' is required", "messages");
  if (c->is_string()) return c->get<std::string>();
  if (!c->is_array()) invalid("'" + where + "' must be a string or an array of text parts", "messages");
  std::string text;
  for (const json& part : *c) {
    if (!part.is_object() || part.value("type", json()) != "text" || !part.contains("text") || !part["text"].is_string())
      invalid("'" + where + "' parts must be {\"type\": \"text\", \"text\": string}", "messages");
    text += part["text"].get<std::string>();
  }
  return text;
}

}  // namespace

json error_body(const std::string& message, const std::string& type, const std::string& param) {
  return {{"error",
           {{"message", message}, {"type", type}, {"param", param.empty() ? json() : json(param)}, {"code", nullptr}}}};
}

GenerationRequest parse_chat_request(const std::string& body) {
  const json j = parse_object(body);
  GenerationRequest r;
  r.endpoint = Endpoint::chat;
  parse_common(j, r);
  const json* messages = field(j, "messages");
  if (!messages) invalid("'messages' is required", "messages");
  if (!messages->is_array() || messages->empty()) invalid("'messages' must be a non-empty array", "messages");
  for (std::size_t i = 0; i < messages->size(); ++i) {
    const json& m = (*messages)[i];
    if (!m.is_object()) invalid("'messages[" + std::to_string(i) + "]' must be an object", "messages");
    const json* role = field(m, "role");
    if (!role || !role->is_string())
      invalid("'messages[" + std::to_string(i) + "].role' must be a string", "messages");
    const std::string rs = role->get<std::string>();
    if (rs != "system" && rs != "user" && rs != "assistant" && rs != "developer" && rs != "tool")
      invalid("'messages[" + std::to_string(i) + "].role' must be system, user, assistant, developer or tool",
              "messages");
    r.messages.push_back({rs == "developer" ? "system" : rs, message_content(m, i)});
  }
  return r;
}

GenerationRequest parse_completion_request(const std::string& body) {
  const json j = parse_object(body);
  GenerationRequest r;
  r.endpoint = Endpoint::completion;
  parse_common(j, r);
  const json* p = field(j, "prompt");
  if (!p) invalid("'prompt' is required", "prompt");
  if (p->is_array() && p->size() == 1 && (*p)[0].is_string())
    r.prompt = (*p)[0].get<std::string>();
  else if (p->is_string())
    r.prompt = p->get<std::string>();
  else
    invalid("'prompt' must be a string", "prompt");
  if (r.prompt.empty()) invalid("'prompt' must not be empty", "prompt");
  if (!r.max_tokens) r.max_tokens = 16;  // OpenAI's default for completions
  return r;
}

namespace {

// A service request: its system prompt + the user's text, greedy, with the
// CLI services' length limit (`kvlm translate` / `kvlm copyedit`).
GenerationRequest service_request(Endpoint endpoint, const json& j, const std::string& system, const std::string& text) {
  GenerationRequest r;
  r.endpoint = endpoint;
  r.stream = boolean(j, "stream");
  r.messages = {{"system", system}, {"user", text}};
  r.temperature = 0.0;
  r.max_tokens = ProviderOptions{}.max_new_tokens;
  return r;
}

}  // namespace

GenerationRequest parse_translate_request(const std::string& body) {
  const json j = parse_object(body);
  const std::string text = required_string(j, "text");
  const std::string target = required_string(j, "target");
  std::string source;
  if (field(j, "source")) source = required_string(j, "source");
  if (text.empty()) invalid("'text' must not be empty", "text");
  if (target.empty()) invalid("'target' must not be empty", "target");
  return service_request(Endpoint::translate, j, TranslationProvider::system_prompt(source, target), text);
}

GenerationRequest parse_copyedit_request(const std::string& body) {
  const json j = parse_object(body);
  const std::string text = required_string(j, "text");
  if (text.empty()) invalid("'text' must not be empty", "text");
  return service_request(Endpoint::copyedit, j, CopyEditProvider::system_prompt(), text);
}

SamplingOptions sampling_for(const GenerationRequest& r, std::uint64_t random_seed) {
  SamplingOptions s;
  const double temperature = r.temperature.value_or(1.0);
  s.greedy = temperature <= 0.0;
  s.temperature = temperature;
  s.top_p = r.top_p.value_or(1.0);
  s.seed = r.seed.value_or(random_seed);
  return s;
}

// OpenAI has no reason for a full context: it is "length" there, as max_tokens is.
const char* finish_reason(StopReason reason) {
  return reason == StopReason::eos || reason == StopReason::stop ? "stop" : "length";
}

json usage_json(const Completion& c) {
  return {{"prompt_tokens", c.prompt_tokens},
          {"completion_tokens", c.completion_tokens},
          {"total_tokens", c.prompt_tokens + c.completion_tokens},
          {"prompt_tokens_details", {{"cached_tokens", c.cached_tokens}}}};
}

json response_body(Endpoint endpoint, const Completion& c) {
  switch (endpoint) {
    case Endpoint::chat:
      return {{"id", c.id},
              {"object", "chat.completion"},
              {"created", c.created},
              {"model", c.model},
              {"choices",
               json::array({{{"index", 0},
                             {"message", {{"role", "assistant"}, {"content", c.text}}},
                             {"logprobs", nullptr},
                             {"finish_reason", finish_reason(c.stop_reason)}}})},
              {"usage", usage_json(c)}};
    case Endpoint::completion:
      return {{"id", c.id},
              {"object", "text_completion"},
              {"created", c.created},
              {"model", c.model},
              {"choices", json::array({{{"index", 0},
                                        {"text", c.text},
                                        {"logprobs", nullptr},
                                        {"finish_reason", finish_reason(c.stop_reason)}}})},
              {"usage", usage_json(c)}};
    case Endpoint::translate:
      return {{"translation", c.text}, {"finish_reason", finish_reason(c.stop_reason)}, {"usage", usage_json(c)}};
    case Endpoint::copyedit:
      return {{"text", c.text}, {"finish_reason", finish_reason(c.stop_reason)}, {"usage", usage_json(c)}};
  }
  return {};
}

namespace {

std::string event(const json& j) { return "data: " + j.dump() + "\n\n"; }

json chunk(Endpoint endpoint, const Completion& c, json choice) {
  const bool chat = endpoint == Endpoint::chat;
  return {{"id", c.id},
          {"object", chat ? "chat.completion.chunk" : "text_completion"},
          {"created", c.created},
          {"model", c.model},
          {"choices", json::array({std::move(choice)})}};
}

json text_choice(Endpoint endpoint, const std::string& piece, const json& finish) {
  if (endpoint == Endpoint::chat)
    return {{"index", 0}, {"delta", {{"content", piece}}}, {"logprobs", nullptr}, {"finish_reason", finish}};
  if (endpoint == Endpoint::completion)
    return {{"index", 0}, {"text", piece}, {"logprobs", nullptr}, {"finish_reason", finish}};
  return {{"index", 0}, {"text", piece}, {"finish_reason", finish}};  // translate, copyedit
}

}  // namespace

std::string stream_start_event(Endpoint endpoint, const Completion& c) {
  if (endpoint != Endpoint::chat) return {};
  return event(chunk(endpoint, c,
                     {{"index", 0}, {"delta", {{"role", "assistant"}, {"content", ""}}}, {"logprobs", nullptr},
                      {"finish_reason", nullptr}}));
}

std::string stream_text_event(Endpoint endpoint, const Completion& c, const std::string& piece) {
  return event(chunk(endpoint, c, text_choice(endpoint, piece, nullptr)));
}

std::string stream_end_events(Endpoint endpoint, const Completion& c, bool include_usage) {
  json last = chunk(endpoint, c,
                    endpoint == Endpoint::chat
                        ? json{{"index", 0}, {"delta", json::object()}, {"logprobs", nullptr},
                               {"finish_reason", finish_reason(c.stop_reason)}}
                        : text_choice(endpoint, "", finish_reason(c.stop_reason)));
  std::string out;
  if (include_usage) {
    out = event(last);
    json usage = chunk(endpoint, c, nullptr);
    usage["choices"] = json::array();
    usage["usage"] = usage_json(c);
    out += event(usage);
  } else {
    last["usage"] = usage_json(c);  // llama.cpp's server sends it here too
    out = event(last);
  }
  return out + "data: [DONE]\n\n";
}

}  // namespace kvlm::server
