// The OpenAI-compatible HTTP API of `kvlm serve`, without the HTTP: request
// bodies parsed and validated into plain structs, and the response bodies
// built from results. Pure functions of their inputs, so they are tested and
// fuzzed without a socket.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "kvlm/chat_template.h"
#include "kvlm/session.h"

namespace kvlm::server {

// A request the server refuses: HTTP status, OpenAI error type and message.
struct RequestError : std::runtime_error {
  RequestError(int http_status, std::string error_type, const std::string& message, std::string field = {})
      : std::runtime_error(message), status(http_status), type(std::move(error_type)), param(std::move(field)) {}
  int status;
  std::string type;   // invalid_request_error, authentication_error, ...
  std::string param;  // the offending field, if one
};

// {"error": {"message", "type", "param", "code"}} as OpenAI sends it.
nlohmann::json error_body(const std::string& message, const std::string& type, const std::string& param = {});

enum class Endpoint { chat, completion, translate, copyedit };

// Everything a generation request asks for, validated.
struct GenerationRequest {
  Endpoint endpoint = Endpoint::chat;
  std::vector<ChatMessage> messages;  // chat, translate, copyedit (system + user)
  std::string prompt;                 // completion
  int max_tokens = 0;                 // 0: until eos or the context is full
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage
  std::optional<double> temperature;
  std::optional<double> top_p;
  std::optional<std::uint64_t> seed;
  std::vector<std::string> stop;
};

// Parses a request body. Throws RequestError (400) naming the field for bad
// JSON, a wrong type, a value out of range or a missing field.
GenerationRequest parse_chat_request(const std::string& body);
GenerationRequest parse_completion_request(const std::string& body);
// {text, target, source?}: the translation system prompt + text, greedy.
GenerationRequest parse_translate_request(const std::string& body);
// {text}: the copy-edit system prompt + text, greedy.
GenerationRequest parse_copyedit_request(const std::string& body);

// Sampling for a request: greedy at temperature 0; otherwise temperature
// (default 1) and top_p (default 1) with the request's seed, or `random_seed`.
SamplingOptions sampling_for(const GenerationRequest& r, std::uint64_t random_seed);

// "stop" for eos and stop strings, "length" for max_tokens and a full context.
const char* finish_reason(StopReason reason);

// What a finished request reports.
struct Completion {
  std::string id;       // chatcmpl-... / cmpl-...
  std::string model;    // the served model's name
  std::int64_t created = 0;
  std::string text;
  StopReason stop_reason = StopReason::length;
  int prompt_tokens = 0;
  int cached_tokens = 0;  // of the prompt, reused from the slot's cache
  int completion_tokens = 0;
};

nlohmann::json usage_json(const Completion& c);
// The whole response of a non-streaming request, per endpoint.
nlohmann::json response_body(Endpoint endpoint, const Completion& c);
// Server-sent event chunks of a streaming chat or completion: the first one
// (chat: the assistant role), one per text piece, the last (finish reason,
// usage). Each is one "data: {...}\n\n" line.
std::string stream_start_event(Endpoint endpoint, const Completion& c);
std::string stream_text_event(Endpoint endpoint, const Completion& c, const std::string& piece);
std::string stream_end_events(Endpoint endpoint, const Completion& c, bool include_usage);

}  // namespace kvlm::server
