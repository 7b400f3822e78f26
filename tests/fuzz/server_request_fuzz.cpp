// libFuzzer target: kvlm serve's request parsing and response building
// (tools/kvlm/server_protocol). The first byte picks the endpoint, the rest
// is the request body. A bad body must end in RequestError (a 400 with a
// message); a good one must turn into sampling options, a response body and
// stream events without throwing.
#include <cstddef>
#include <cstdint>
#include <string>

#include "server_protocol.h"

using namespace kvlm::server;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string body(reinterpret_cast<const char*>(data + 1), size - 1);
  GenerationRequest r;
  try {
    switch (data[0] % 4) {
      case 0: r = parse_chat_request(body); break;
      case 1: r = parse_completion_request(body); break;
      case 2: r = parse_translate_request(body); break;
      default: r = parse_copyedit_request(body); break;
    }
  } catch (const RequestError& e) {
    if (e.status != 400 || std::string(e.what()).empty()) __builtin_trap();
    (void)error_body(e.what(), e.type, e.param).dump();
    return 0;
  }
  (void)sampling_for(r, 1);
  // Texts a response may carry: the request's own (valid UTF-8 once parsed).
  Completion c{"chatcmpl-0", "m", 0, r.messages.empty() ? r.prompt : r.messages.back().content,
               kvlm::StopReason::stop, 1, 0, 1};
  (void)response_body(r.endpoint, c).dump();
  (void)stream_start_event(r.endpoint, c);
  (void)stream_text_event(r.endpoint, c, c.text);
  (void)stream_end_events(r.endpoint, c, r.include_usage);
  return 0;
}
