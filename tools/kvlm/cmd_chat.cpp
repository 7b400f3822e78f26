// kvlm chat: interactive multi-turn chat; each turn prefills only its new
// tokens (the Session keeps the conversation's KV cache).
#include <iostream>

#include "command.h"
#include "generation_options.h"
#include "kvlm/providers.h"
#include "kvlm/session.h"
#include "model_options.h"

namespace kvlm::cli {
namespace {

struct ChatOptions {
  ModelOptions model;
  SamplingFlags sampling;
  std::string system;
  std::string date;
  int max_new = 512;
  int ctx = 0;
  bool stats = false;
};

int chat(const ChatOptions& o) {
  SessionOptions so;
  so.max_ctx = o.ctx;
  if (!o.date.empty()) so.date = o.date;
  Session session = Session::open(resolve_model(o.model.model), o.model.load_options(), so);
  if (!session.tokenizer() || !session.chat_template()) throw Error("chat needs a model with a tokenizer and a chat template");
  GenerateOptions go;
  go.max_new_tokens = o.max_new;
  go.sampling = o.sampling.resolve(session.model().generation_config(), false);
  go.stop = o.sampling.stop;
  go.on_text = [](std::string_view piece) { write_stdout(piece); return true; };
  std::vector<ChatMessage> messages;
  auto start = [&] {
    messages.clear();
    if (!o.system.empty()) messages.push_back({"system", o.system});
  };
  start();
  const bool interactive = stdin_is_terminal();
  if (interactive) std::fprintf(stderr, "kvlm chat: /reset starts over, /exit (or Ctrl-D) quits\n");
  std::string line;
  while (true) {
    if (interactive) std::fprintf(stderr, "> ");
    if (!std::getline(std::cin, line)) break;
    if (line == "/exit" || line == "/quit") break;
    if (line == "/reset") {
      start();
      session.reset();
      if (interactive) std::fprintf(stderr, "(conversation reset)\n");
      continue;
    }
    if (line.empty()) continue;
    messages.push_back({"user", line});
    GenerateResult r;
    try {
      r = session.chat(messages, go);
    } catch (const ContextOverflowError&) {
      throw Error("the conversation no longer fits the context (" + std::to_string(session.state().max_ctx()) +
                  " tokens); use /reset or a larger --ctx");
    }
    write_stdout("\n");
    messages.push_back({"assistant", r.text});
    if (o.stats || r.stop_reason == StopReason::length)
      std::fprintf(stderr, "[%s] prompt %d tokens (%d cached, %d prefilled), prefill %.1f ms, decode %.2f ms/token\n",
                   stop_reason_name(r.stop_reason), r.timings.prompt_tokens, r.timings.cached_tokens,
                   r.timings.prefill_tokens, r.timings.prefill_ms, r.timings.decode_ms_per_token());
  }
  return 0;
}

const CommandRegistration registration{"chat", "Interactive chat (streaming; /reset, /exit)", [](CLI::App& sub) {
  auto o = std::make_shared<ChatOptions>();
  o->model.add_to(sub, /*required=*/false);
  o->sampling.add_to(sub);
  sub.add_option("--system", o->system, "system message");
  sub.add_option("--date", o->date, "YYYY-MM-DD: the template's today");
  sub.add_option("-n,--max-new", o->max_new, "maximum new tokens per reply")->check(CLI::PositiveNumber);
  sub.add_option("--ctx", o->ctx, "context size (default 512)")->check(CLI::PositiveNumber);
  sub.add_flag("--stats", o->stats, "print token counts and timings after each reply (stderr)");
  return [o] { return chat(*o); };
}};

}  // namespace
}  // namespace kvlm::cli
