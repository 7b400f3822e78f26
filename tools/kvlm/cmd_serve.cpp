// kvlm serve: the OpenAI-compatible HTTP server (server.h) until SIGINT or
// SIGTERM.
#include <csignal>
#include <cstdio>
#include <pthread.h>
#include <thread>

#include "command.h"
#include "kvlm/error.h"
#include "kvlm/providers.h"
#include "kvlm/session.h"
#include "model_options.h"
#include "server.h"
#include "numeric_checks.h"

namespace kvlm::cli {
namespace {

struct ServeFlags {
  ModelOptions model;
  server::ServeOptions serve;
};

int serve(ServeFlags& o) {
  // Signals go to one waiting thread, which stops the server; a write to a
  // client that went away must fail, not kill the process.
  std::signal(SIGPIPE, SIG_IGN);
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);  // inherited by every thread started below

  if (o.serve.model_name.empty()) o.serve.model_name = resolve_model(o.model.model).filename().string();
  const auto path = o.model.resolve();
  const Session session = Session::open(path, o.model.load_options(), SessionOptions{o.serve.max_ctx, {}});
  if (!session.tokenizer() || !session.chat_template())
    throw Error("kvlm serve needs a model with a tokenizer and a chat template");
  server::Server server(session, o.serve);
  std::thread waiter([&server, stop_signals] {
    int signal = 0;
    sigwait(&stop_signals, &signal);
    server.stop();
  });
  std::exception_ptr failed;
  std::thread listener([&] {
    try {
      server.run();
    } catch (...) {
      failed = std::current_exception();
    }
    pthread_kill(waiter.native_handle(), SIGTERM);  // run() returned: let the waiter finish
  });
  // The listening line scripts wait for, once the port is bound.
  while (!server.port() && !failed) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  if (server.port())
    std::fprintf(stderr, "kvlm serve: %s on http://%s:%d (%d slots, queue %d%s)\n", o.serve.model_name.c_str(),
                 o.serve.host.c_str(), server.port(), o.serve.parallel, o.serve.queue,
                 o.serve.api_key.empty() ? "" : ", API key required");
  listener.join();
  waiter.join();
  if (failed) std::rethrow_exception(failed);
  return 0;
}

const CommandRegistration registration{
    "serve", "OpenAI-compatible HTTP server: /v1/chat/completions, /v1/completions, /v1/translate, /v1/copyedit",
    [](CLI::App& sub) {
      auto o = std::make_shared<ServeFlags>();
      o->model.add_to(sub, /*required=*/false);
      o->model.add_cache_flag(sub);
      sub.add_option("--host", o->serve.host, "address to listen on (default 127.0.0.1: this machine only)");
      sub.add_option("--port", o->serve.port, "port (0 picks a free one)")->check(integer_between(0, 65535));
      sub.add_option("--parallel", o->serve.parallel, "requests decoded together as one batch")
          ->check(integer_between(1, 64));
      sub.add_option("--queue", o->serve.queue, "requests that may wait for a slot before the server answers 429")
          ->check(integer_between(0, 4096));
      sub.add_option("--api-key", o->serve.api_key, "require 'Authorization: Bearer KEY' on /v1/ routes");
      sub.add_option("--name", o->serve.model_name, "model name in /v1/models and responses (default: the file name)");
      sub.add_option("--date", o->serve.date, "YYYY-MM-DD: the chat template's today (default: the real date)");
      sub.add_option("--ctx", o->serve.max_ctx, "context size of each slot in tokens")
          ->check(integer_at_least(1))
          ->default_str("512");
      sub.add_option("--max-body", o->serve.max_body_bytes, "largest request body in bytes")
          ->check(integer_between(1024, 1LL << 30));
      return [o] { return serve(*o); };
    }};

}  // namespace
}  // namespace kvlm::cli
