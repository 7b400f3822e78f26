// `kvlm serve`: the OpenAI-compatible HTTP server (cpp-httplib). N slots, each
// a Session (its KV cache and cached ids), decode steps of all slots batched
// through one DecodeBatcher; a request takes the free slot whose cache shares
// the longest prefix with it (a repeated system prompt is not prefilled
// again); up to `queue` more requests wait for a slot, and beyond that the
// server answers 429.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "kvlm/session.h"

namespace kvlm::server {

struct ServeOptions {
  std::string host = "127.0.0.1";
  int port = 8080;
  int parallel = 4;               // slots decoded as one batch
  int queue = 16;                 // requests that may wait for a slot
  std::string api_key;            // empty: no authentication
  std::string model_name;         // reported by /v1/models and in responses
  std::size_t max_body_bytes = 1 << 20;
  int max_ctx = 0;                // per slot; 0: the model's default (512)
  std::optional<std::string> date;  // "YYYY-MM-DD" for the chat template's today
};

class Server {
 public:
  // `session` supplies the model, tokenizer and chat template; each slot gets
  // its own Session over them.
  Server(const Session& session, const ServeOptions& options);
  ~Server();
  // Binds and serves until stop() (from another thread or a signal handler's
  // thread). Throws Error when the address cannot be bound.
  void run();
  void stop();
  // The port bound (after run() has bound it; useful with port 0).
  int port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kvlm::server
