#include "server.h"

#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <ctime>
#include <mutex>
#include <random>

#include "kvlm/decode_batcher.h"
#include "kvlm/error.h"
#include "server_protocol.h"

namespace kvlm::server {

using nlohmann::json;

namespace {

// How often (in generated tokens) a non-streaming request writes one byte of
// leading JSON whitespace: the only way to notice a client that went away.
constexpr int kProbeEvery = 4;

struct Slot {
  Session session;
  bool busy = false;
};

void send_error(httplib::Response& res, int status, const std::string& message, const std::string& type,
                const std::string& param = {}) {
  res.status = status;
  res.set_content(error_body(message, type, param).dump(), "application/json");
}

}  // namespace

struct Server::Impl {
  ServeOptions options;
  std::shared_ptr<const Tokenizer> tokenizer;
  Session prompts;  // renders and tokenizes requests (const calls only)
  std::vector<std::unique_ptr<Slot>> slots;
  DecodeBatcher batcher;
  httplib::Server http;
  std::mutex mutex;
  std::condition_variable freed;
  int waiting = 0;
  bool stopping = false;
  std::atomic<std::uint64_t> next_id{0};
  std::mt19937_64 seeds{std::random_device{}()};  // guarded by mutex
  std::atomic<int> bound_port{0};
  std::atomic<std::uint64_t> requests{0}, cancelled{0};

  Impl(const Session& session, const ServeOptions& o)
      : options(o),
        tokenizer(session.tokenizer()),
        prompts(session.shared_model(), session.tokenizer(), session.chat_template(), SessionOptions{o.max_ctx, o.date}),
        batcher(session.shared_model(), o.parallel) {
    if (!tokenizer) throw Error("kvlm serve needs a model with a tokenizer");
    for (int i = 0; i < o.parallel; ++i)
      slots.push_back(std::make_unique<Slot>(Slot{
          Session(session.shared_model(), session.tokenizer(), session.chat_template(), SessionOptions{o.max_ctx, o.date}),
          false}));
  }

  int max_ctx() const { return prompts.state().max_ctx(); }

  // The free slot whose cached ids share the longest prefix with `ids`;
  // waits in the queue when none is free. Throws RequestError 429 when the
  // queue is full, 503 when the server is stopping.
  Slot* acquire(const std::vector<std::int32_t>& ids) {
    std::unique_lock lock(mutex);
    auto best_free = [&]() -> Slot* {
      Slot* best = nullptr;
      std::size_t best_common = 0;
      for (const auto& s : slots) {
        if (s->busy) continue;
        const auto& cached = s->session.cached_ids();
        std::size_t common = 0;
        while (common < cached.size() && common < ids.size() && cached[common] == ids[common]) ++common;
        if (!best || common > best_common) best = s.get(), best_common = common;
      }
      return best;
    };
    Slot* slot = best_free();
    if (!slot) {
      if (waiting >= options.queue)
        throw RequestError(429, "rate_limit_error",
                           "server busy: " + std::to_string(slots.size()) + " requests running and " +
                               std::to_string(waiting) + " waiting; retry later");
      ++waiting;
      freed.wait(lock, [&] { return stopping || (slot = best_free()) != nullptr; });
      --waiting;
      if (stopping) throw RequestError(503, "server_error", "the server is shutting down");
    }
    slot->busy = true;
    return slot;
  }

  void release(Slot* slot) {
    {
      const std::lock_guard lock(mutex);
      slot->busy = false;
    }
    freed.notify_one();
  }

  std::uint64_t random_seed() {
    const std::lock_guard lock(mutex);
    return seeds();
  }

  std::vector<std::int32_t> prompt_ids(const GenerationRequest& r) const {
    try {
      if (r.endpoint == Endpoint::completion)
        return tokenizer->encode(r.prompt, EncodeOptions{.add_special = true, .parse_special = false});
      return prompts.chat_ids(r.messages, true);
    } catch (const Error& e) {
      throw RequestError(400, "invalid_request_error", std::string("cannot render the prompt: ") + e.what(),
                         r.endpoint == Endpoint::completion ? "prompt" : "messages");
    }
  }

  void handle(const httplib::Request& req, httplib::Response& res, Endpoint endpoint);
  void routes();
};

void Server::Impl::handle(const httplib::Request& req, httplib::Response& res, Endpoint endpoint) {
  GenerationRequest r;
  std::vector<std::int32_t> ids;
  Slot* slot = nullptr;
  try {
    switch (endpoint) {
      case Endpoint::chat: r = parse_chat_request(req.body); break;
      case Endpoint::completion: r = parse_completion_request(req.body); break;
      case Endpoint::translate: r = parse_translate_request(req.body); break;
      case Endpoint::copyedit: r = parse_copyedit_request(req.body); break;
    }
    ids = prompt_ids(r);
    if (ids.empty()) throw RequestError(400, "invalid_request_error", "the prompt is empty", "messages");
    if (ids.size() >= std::size_t(max_ctx()))
      throw RequestError(400, "invalid_request_error",
                         "the prompt has " + std::to_string(ids.size()) + " tokens; the context holds " +
                             std::to_string(max_ctx()) + ", with room for at least one generated token",
                         endpoint == Endpoint::completion ? "prompt" : "messages");
    slot = acquire(ids);
  } catch (const RequestError& e) {
    send_error(res, e.status, e.what(), e.type, e.param);
    return;
  }

  GenerateOptions go;
  go.max_new_tokens = r.max_tokens > 0 ? r.max_tokens : max_ctx() - int(ids.size());
  go.sampling = sampling_for(r, random_seed());
  go.stop = r.stop;
  go.batcher = &batcher;
  auto completion = std::make_shared<Completion>();
  completion->id = std::string(endpoint == Endpoint::chat ? "chatcmpl-" : "cmpl-") + std::to_string(std::time(nullptr)) +
                   "-" + std::to_string(next_id.fetch_add(1));
  completion->model = options.model_name;
  completion->created = std::int64_t(std::time(nullptr));
  completion->prompt_tokens = int(ids.size());

  // Generation runs in the content provider, after the status line is sent;
  // the releaser frees the slot however the response ends.
  ++requests;
  auto generate = [this, slot, ids, go, completion](const std::function<bool(std::string_view)>& on_text,
                                                     const std::function<bool(std::int32_t)>& on_token) {
    GenerateOptions mine = go;
    mine.on_text = on_text;
    mine.on_token = on_token;
    const GenerateResult g = slot->session.generate_ids(ids, mine);
    completion->text = g.text;
    completion->stop_reason = g.stop_reason;
    completion->completion_tokens = int(g.generated_ids.size());
    completion->cached_tokens = g.timings.cached_tokens;
    if (g.stop_reason == StopReason::cancelled) ++cancelled;
    return g.stop_reason != StopReason::cancelled;
  };
  auto releaser = [this, slot](bool) { release(slot); };
  if (r.stream) {
    res.set_header("Cache-Control", "no-cache");
    res.set_chunked_content_provider(
        "text/event-stream",
        [endpoint, completion, generate, include_usage = r.include_usage](std::size_t, httplib::DataSink& sink) {
          auto send = [&sink](const std::string& text) { return text.empty() || sink.write(text.data(), text.size()); };
          if (!send(stream_start_event(endpoint, *completion))) return false;
          try {
            const bool finished = generate(
                [&](std::string_view piece) { return send(stream_text_event(endpoint, *completion, std::string(piece))); },
                nullptr);
            if (!finished) return false;  // the client went away
          } catch (const std::exception& e) {
            send("data: " + error_body(e.what(), "server_error").dump() + "\n\n");
            sink.done();
            return true;
          }
          send(stream_end_events(endpoint, *completion, include_usage));
          sink.done();
          return true;
        },
        releaser);
  } else {
    res.set_chunked_content_provider(
        "application/json",
        [endpoint, completion, generate](std::size_t, httplib::DataSink& sink) {
          int tokens = 0;
          std::string body;
          try {
            const bool finished = generate(nullptr, [&](std::int32_t) {
              return ++tokens % kProbeEvery != 0 || sink.write(" ", 1);
            });
            if (!finished) return false;
            body = response_body(endpoint, *completion).dump();
          } catch (const std::exception& e) {
            body = error_body(e.what(), "server_error").dump();
          }
          sink.write(body.data(), body.size());
          sink.done();
          return true;
        },
        releaser);
  }
}

void Server::Impl::routes() {
  http.set_payload_max_length(options.max_body_bytes);
  const std::size_t threads = std::size_t(options.parallel + options.queue + 4);
  http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (options.api_key.empty() || req.path.rfind("/v1/", 0) != 0) return httplib::Server::HandlerResponse::Unhandled;
    if (req.get_header_value("Authorization") == "Bearer " + options.api_key)
      return httplib::Server::HandlerResponse::Unhandled;
    send_error(res, 401, "missing or wrong API key (send 'Authorization: Bearer KEY')", "authentication_error");
    return httplib::Server::HandlerResponse::Handled;
  });
  http.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    if (res.status == 404)
      send_error(res, 404, "no route " + req.method + " " + req.path, "invalid_request_error");
    else if (res.status == 413)
      send_error(res, 413, "the request body is too large", "invalid_request_error");
    else
      send_error(res, res.status, "HTTP error " + std::to_string(res.status), "invalid_request_error");
  });
  http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "internal error";
    try {
      if (ep) std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    send_error(res, 500, what, "server_error");
  });
  http.Get("/health", [this](const httplib::Request&, httplib::Response& res) {
    int busy = 0;
    {
      const std::lock_guard lock(mutex);
      for (const auto& s : slots) busy += s->busy;
    }
    const json health = {{"status", "ok"},
                         {"slots_idle", int(slots.size()) - busy},
                         {"slots_processing", busy},
                         {"requests", requests.load()},
                         {"requests_cancelled", cancelled.load()},
                         {"decode_steps", batcher.steps()},
                         {"decode_passes", batcher.passes()}};
    res.set_content(health.dump(), "application/json");
  });
  http.Get("/v1/models", [this](const httplib::Request&, httplib::Response& res) {
    const json model = {{"id", options.model_name}, {"object", "model"}, {"created", 0}, {"owned_by", "kvlm"}};
    res.set_content(json{{"object", "list"}, {"data", json::array({model})}}.dump(), "application/json");
  });
  const std::pair<const char*, Endpoint> posts[] = {{"/v1/chat/completions", Endpoint::chat},
                                                    {"/v1/completions", Endpoint::completion},
                                                    {"/v1/translate", Endpoint::translate},
                                                    {"/v1/copyedit", Endpoint::copyedit}};
  for (const auto& [path, endpoint] : posts)
    http.Post(path, [this, endpoint = endpoint](const httplib::Request& req, httplib::Response& res) {
      handle(req, res, endpoint);
    });
}

Server::Server(const Session& session, const ServeOptions& options)
    : impl_(std::make_unique<Impl>(session, options)) {
  impl_->routes();
}

Server::~Server() = default;

void Server::run() {
  const int port = impl_->options.port == 0 ? impl_->http.bind_to_any_port(impl_->options.host)
                                            : (impl_->http.bind_to_port(impl_->options.host, impl_->options.port)
                                                   ? impl_->options.port
                                                   : -1);
  if (port < 0)
    throw Error("cannot listen on " + impl_->options.host + ":" + std::to_string(impl_->options.port) +
                " (in use, or not an address of this machine)");
  impl_->bound_port = port;
  impl_->http.listen_after_bind();
}

void Server::stop() {
  {
    const std::lock_guard lock(impl_->mutex);
    impl_->stopping = true;
  }
  impl_->freed.notify_all();
  impl_->http.stop();
}

int Server::port() const { return impl_->bound_port; }

}  // namespace kvlm::server
