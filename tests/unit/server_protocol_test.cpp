// The server's request parsing and response bodies (tools/kvlm/server_protocol):
// every field's type and range is checked with the field named, and the
// bodies have the shape of OpenAI's (the end-to-end check against the official
// client is tests/scripts/test_serve.py).
#include "server_protocol.h"

#include <gtest/gtest.h>

namespace kvlm::server {
namespace {

using nlohmann::json;

// The parameter a bad body is refused for (400), or "" when it is accepted.
std::string refused_param(GenerationRequest (*parse)(const std::string&), const std::string& body) {
  try {
    parse(body);
    return "";
  } catch (const RequestError& e) {
    EXPECT_EQ(e.status, 400) << body;
    EXPECT_FALSE(std::string(e.what()).empty());
    return e.param.empty() ? "(none)" : e.param;
  }
}

TEST(ServerProtocol, ChatRequestFields) {
  const GenerationRequest r = parse_chat_request(
      R"({"model": "m", "messages": [{"role": "developer", "content": "be brief"},
          {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}],
          "max_tokens": 7, "temperature": 0.5, "top_p": 0.9, "seed": 42, "stop": ["x", "y"], "stream": true,
          "stream_options": {"include_usage": true}})");
  ASSERT_EQ(r.messages.size(), 2u);
  EXPECT_EQ(r.messages[0].role, "system");
  EXPECT_EQ(r.messages[1].content, "ab");
  EXPECT_EQ(r.max_tokens, 7);
  EXPECT_EQ(*r.temperature, 0.5);
  EXPECT_EQ(*r.top_p, 0.9);
  EXPECT_EQ(*r.seed, 42u);
  EXPECT_EQ(r.stop, (std::vector<std::string>{"x", "y"}));
  EXPECT_TRUE(r.stream);
  EXPECT_TRUE(r.include_usage);
  const SamplingOptions s = sampling_for(r, 9);
  EXPECT_FALSE(s.greedy);
  EXPECT_EQ(s.seed, 42u);
  EXPECT_TRUE(sampling_for(parse_chat_request(R"({"messages": [{"role": "user", "content": "x"}], "temperature": 0})"), 9)
                  .is_greedy());
  EXPECT_EQ(sampling_for(parse_chat_request(R"({"messages": [{"role": "user", "content": "x"}]})"), 9).seed, 9u);
}

TEST(ServerProtocol, BadChatRequestsNameTheirField) {
  auto p = parse_chat_request;
  const std::string ok_messages = R"("messages": [{"role": "user", "content": "x"}])";
  EXPECT_EQ(refused_param(p, "{"), "(none)");
  EXPECT_EQ(refused_param(p, "[]"), "(none)");
  EXPECT_EQ(refused_param(p, "{}"), "messages");
  EXPECT_EQ(refused_param(p, R"({"messages": []})"), "messages");
  EXPECT_EQ(refused_param(p, R"({"messages": [{"role": "user"}]})"), "messages");
  EXPECT_EQ(refused_param(p, R"({"messages": [{"role": 3, "content": "x"}]})"), "messages");
  EXPECT_EQ(refused_param(p, R"({"messages": [{"role": "user", "content": [{"type": "image_url"}]}]})"), "messages");
  EXPECT_EQ(refused_param(p, "{" + ok_messages + R"(, "max_tokens": 0})"), "max_tokens");
  EXPECT_EQ(refused_param(p, "{" + ok_messages + R"(, "max_tokens": 1.5})"), "max_tokens");
  EXPECT_EQ(refused_param(p, "{" + ok_messages + R"(, "max_completion_tokens": -3})"), "max_completion_tokens");
  EXPECT_EQ(refused_param(p, "{" + ok_messages + R"(, "temperature": 2.5})"), "temperature");
  EXPECT_EQ(refused_param(p, "{" + ok_messages + R"(, "temperature": "hot"})"), "temperature");
  EXPECT_EQ(refused_param(p, "{" + ok_messages + R"(, "top_p": 0})"), "top_p");
  EXPECT_EQ(refused_param(p, "{" + ok_messages + R"(, "seed": "1"})"), "seed");
  EXPECT_EQ(refused_param(p, "{" + ok_messages + R"(, "stop": ["a", "b", "c", "d", "e"]})"), "stop");
  EXPECT_EQ(refused_param(p, "{" + ok_messages + R"(, "stop": [""]})"), "stop");
  EXPECT_EQ(refused_param(p, "{" + ok_messages + R"(, "stop": 5})"), "stop");
  EXPECT_EQ(refused_param(p, "{" + ok_messages + R"(, "n": 2})"), "n");
  EXPECT_EQ(refused_param(p, "{" + ok_messages + R"(, "stream": "yes"})"), "stream");
  EXPECT_EQ(refused_param(p, "{" + ok_messages + R"(, "model": 1})"), "model");
  EXPECT_EQ(refused_param(p, "{" + ok_messages + R"(, "temperature": null, "n": 1})"), "");
}

TEST(ServerProtocol, CompletionAndServiceRequests) {
  EXPECT_EQ(parse_completion_request(R"({"prompt": "hi"})").max_tokens, 16);
  EXPECT_EQ(parse_completion_request(R"({"prompt": ["hi"]})").prompt, "hi");
  EXPECT_EQ(refused_param(parse_completion_request, R"({"prompt": ""})"), "prompt");
  EXPECT_EQ(refused_param(parse_completion_request, R"({"prompt": [1, 2]})"), "prompt");
  const GenerationRequest t = parse_translate_request(R"({"text": "Hello", "target": "German"})");
  ASSERT_EQ(t.messages.size(), 2u);
  EXPECT_NE(t.messages[0].content.find("German"), std::string::npos);
  EXPECT_EQ(t.messages[1].content, "Hello");
  EXPECT_TRUE(sampling_for(t, 1).is_greedy());
  EXPECT_EQ(refused_param(parse_translate_request, R"({"text": "x"})"), "target");
  EXPECT_EQ(refused_param(parse_translate_request, R"({"text": "x", "target": "French", "source": 3})"), "source");
  EXPECT_EQ(refused_param(parse_copyedit_request, R"({"text": ""})"), "text");
}

TEST(ServerProtocol, ResponseBodiesAndEvents) {
  Completion c{"chatcmpl-1", "tiny", 1700000000, "Paris.", StopReason::eos, 10, 4, 3};
  const json chat = response_body(Endpoint::chat, c);
  EXPECT_EQ(chat["object"], "chat.completion");
  EXPECT_EQ(chat["choices"][0]["message"]["content"], "Paris.");
  EXPECT_EQ(chat["choices"][0]["finish_reason"], "stop");
  EXPECT_EQ(chat["usage"]["total_tokens"], 13);
  EXPECT_EQ(chat["usage"]["prompt_tokens_details"]["cached_tokens"], 4);
  c.stop_reason = StopReason::length;
  EXPECT_EQ(response_body(Endpoint::completion, c)["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(response_body(Endpoint::translate, c)["translation"], "Paris.");

  const std::string start = stream_start_event(Endpoint::chat, c);
  ASSERT_EQ(start.rfind("data: ", 0), 0u);
  EXPECT_EQ(json::parse(start.substr(6))["choices"][0]["delta"]["role"], "assistant");
  const std::string piece = stream_text_event(Endpoint::chat, c, "Pa");
  EXPECT_EQ(json::parse(piece.substr(6))["choices"][0]["delta"]["content"], "Pa");
  const std::string end = stream_end_events(Endpoint::chat, c, /*include_usage=*/true);
  EXPECT_NE(end.find("\"finish_reason\":\"length\""), std::string::npos);
  EXPECT_NE(end.find("\"choices\":[]"), std::string::npos);
  EXPECT_EQ(end.substr(end.size() - 14), "data: [DONE]\n\n");
  const json err = error_body("bad", "invalid_request_error", "messages");
  EXPECT_EQ(err["error"]["message"], "bad");
  EXPECT_EQ(err["error"]["param"], "messages");
}

}  // namespace
}  // namespace kvlm::server
