// kvlm chat: interactive multi-turn chat. Each turn prefills only its new
// tokens (the Session keeps the conversation's KV cache). It forgives: Ctrl-C
// stops a reply (the partial reply stays in the conversation), a full context
// drops the oldest turns instead of ending the program, and /commands
// (chat_commands.h) never reach the model. Two Ctrl-C in a row at an empty
// prompt quit with status 130, as an interrupted program does.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <optional>

#include "chat_commands.h"
#include "chat_conversation.h"
#include "chat_save.h"
#include "command.h"
#include "generation_options.h"
#include "interrupt.h"
#include "kvlm/session.h"
#include "line_editor.h"
#include "loading_notice.h"
#include "model_options.h"
#include "numeric_checks.h"

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

// Notices go to stderr, so stdout holds only the replies.
void note(const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); }

std::string plural(int n, const char* word) { return std::to_string(n) + " " + word + (n == 1 ? "" : "s"); }

class Chat {
 public:
  Chat(const ChatOptions& o, Session& session, const ChatModelId& id, const InterruptFlag* interrupt)
      : o_(o), session_(session), id_(id), conversation_(o.system) {
    go_.max_new_tokens = o.max_new;
    go_.sampling = o.sampling.resolve(session.model().generation_config(), false);
    go_.stop = o.sampling.stop;
    go_.on_text = [](std::string_view piece) {
      write_stdout(piece);
      return true;
    };
    if (interrupt) go_.cancel = &interrupt->flag();
  }

  // Runs one line; false: the user asked to leave.
  bool handle(const ChatInput& in) {
    switch (in.command) {
      case ChatCommand::empty: break;
      case ChatCommand::message: reply(in.arg); break;
      case ChatCommand::help: std::fputs(chat_help().data(), stderr); break;
      case ChatCommand::reset:
        conversation_.restart();
        session_.reset();
        note("(conversation reset)");
        break;
      case ChatCommand::system:
        if (in.arg.empty()) {
          note(conversation_.system().empty() ? "(no system prompt; /system TEXT sets one)"
                                              : "system prompt: " + conversation_.system());
          break;
        }
        conversation_.set_system(in.arg);
        session_.reset();
        note("(system prompt set; the conversation starts over)");
        break;
      case ChatCommand::save: save(in.arg); break;
      case ChatCommand::load: load(in.arg); break;
      case ChatCommand::exit: return false;
      case ChatCommand::unknown:
        note("unknown command " + in.arg + ": /help lists the commands (//TEXT sends a message starting with /)");
        break;
      case ChatCommand::not_utf8:
        note("that line is not valid UTF-8 (byte " + in.arg + "); it was not sent");
        break;
    }
    return true;
  }

 private:
  void reply(const std::string& text) {
    conversation_.add("user", text);
    const int max_ctx = session_.state().max_ctx();
    // Room kept for the reply when old turns must go.
    const int reserve = std::min(o_.max_new, std::max(1, max_ctx / 4));
    ChatFit fit;
    try {
      fit = conversation_.fit(session_, reserve);
    } catch (const Error& e) {  // the template or the tokenizer refused it
      conversation_.drop_last();
      note(std::string("that message was not sent: ") + e.what());
      return;
    }
    if (!fit.fits) {
      conversation_.drop_last();
      note("that message does not fit the context: alone (with the system prompt, if any) it is a prompt of " +
           std::to_string(fit.ids.size()) + " tokens, the context holds " + std::to_string(max_ctx) +
           " (shorten it, or start with a larger --ctx)");
      return;
    }
    if (fit.dropped_turns > 0) note("context full: dropped the oldest " + plural(fit.dropped_turns, "turn"));
    GenerateResult r;
    try {
      r = session_.generate_ids(fit.ids, go_);
    } catch (const std::exception& e) {  // fit() should prevent overflow; stay whatever failed
      conversation_.drop_last();
      note(std::string("the message was dropped: ") + e.what());
      return;
    }
    const bool context_full = r.stop_reason == StopReason::context;
    if (r.stop_reason == StopReason::cancelled && r.text.empty()) {
      // Nothing was said: the turn goes (Up recalls the message).
      conversation_.drop_last();
      note("(stopped before the reply began; the message was dropped)");
    } else {
      write_stdout("\n");
      conversation_.add("assistant", r.text);
      if (r.stop_reason == StopReason::cancelled) note("(stopped; the partial reply stays in the conversation)");
      if (context_full)
        note("context full: the reply was cut at " + std::to_string(max_ctx) +
             " tokens; the oldest turns make room for the next one");
    }
    // A reply cut short (by -n or by the context's end) always says so.
    if (o_.stats || r.stop_reason == StopReason::length || context_full)
      std::fprintf(stderr,
                   "[%s] prompt %d tokens (%d cached, %d prefilled), %zu generated, prefill %.1f ms, decode %.2f "
                   "ms/token\n",
                   stop_reason_name(r.stop_reason), r.timings.prompt_tokens, r.timings.cached_tokens,
                   r.timings.prefill_tokens, r.generated_ids.size(), r.timings.prefill_ms,
                   r.timings.decode_ms_per_token());
  }

  void save(const std::string& arg) {
    if (arg.empty()) return note("/save needs a file name");
    const std::filesystem::path file = expand_user_path(arg);
    try {
      save_chat(file, conversation_, session_, id_);
      note("(saved to " + file.string() + " and " + file.string() + ".kvstate)");
    } catch (const std::exception& e) {  // kvlm::Error, and the file system's or the allocator's
      note(std::string("not saved: ") + e.what());
    }
  }

  void load(const std::string& arg) {
    if (arg.empty()) return note("/load needs a file name");
    const std::filesystem::path file = expand_user_path(arg);
    try {
      const std::string why = load_chat(file, conversation_, session_, id_);
      note("(loaded " + plural(int(conversation_.messages().size()), "message") + " from " + file.string() + ")");
      if (!why.empty()) note(why);
    } catch (const std::exception& e) {  // kvlm::Error, and the file system's or the allocator's
      note(std::string("not loaded: ") + e.what());
    }
  }

  const ChatOptions& o_;
  Session& session_;
  const ChatModelId& id_;
  ChatConversation conversation_;
  GenerateOptions go_;
};

int chat(const ChatOptions& o) {
  SessionOptions so;
  so.max_ctx = o.ctx;
  if (!o.date.empty()) so.date = o.date;
  const std::filesystem::path model_path = o.model.resolve();
  LoadingNotice notice(o.model.model);
  Session session = Session::open(model_path, o.model.load_options(), so);
  notice.finish();
  if (!session.tokenizer() || !session.chat_template()) throw Error("chat needs a model with a tokenizer and a chat template");
  const ChatModelId id{std::filesystem::absolute(model_path).lexically_normal().string(),
                       std::string(dtype_name(session.model().dtype()))};

  // Scripts pipe lines in and expect Ctrl-C to end the program: the line
  // editor and the Ctrl-C handling are for a terminal only.
  const bool interactive = stdin_is_terminal();
  std::optional<InterruptFlag> interrupt;
  if (interactive) interrupt.emplace();
  const InterruptFlag* flag = interrupt ? &*interrupt : nullptr;
  LineEditor editor(interactive, interactive ? default_history_file() : std::filesystem::path(), flag);
  Chat repl(o, session, id, flag);
  if (interactive) note("kvlm chat: /help lists the commands; Ctrl-C stops a reply, Ctrl-D quits");
  int interrupts = 0;  // consecutive Ctrl-C at an empty prompt
  while (true) {
    if (interrupt) interrupt->clear();
    const LineInput in = editor.read("> ");
    if (in.kind == LineInput::Kind::interrupted) {
      // As in a shell, Ctrl-C drops a typed line; at an empty prompt it warns once.
      if (in.text.find_first_not_of(" \t") != std::string::npos) {
        interrupts = 0;
        continue;
      }
      if (++interrupts >= 2) return 130;
      note("(Ctrl-C again, /exit or Ctrl-D quits)");
      continue;
    }
    interrupts = 0;
    if (in.kind == LineInput::Kind::end) break;
    editor.remember(in.text);
    if (!repl.handle(parse_chat_input(in.text))) break;
  }
  return 0;
}

const CommandRegistration registration{
    "chat", "Interactive chat (streaming; /help lists its commands)", [](CLI::App& sub) {
      auto o = std::make_shared<ChatOptions>();
      o->model.add_to(sub, /*required=*/false);
      o->model.add_cache_flag(sub);
      o->sampling.add_to(sub);
      sub.add_option("--system", o->system, "system message");
      sub.add_option("--date", o->date, "YYYY-MM-DD: the template's today");
      sub.add_option("-n,--max-new", o->max_new, "maximum new tokens per reply")->check(integer_at_least(1));
      sub.add_option("--ctx", o->ctx,
                     "context size in tokens, at most the model's max positions; when it is full, the oldest "
                     "turns are dropped")
          ->check(integer_at_least(1))
          ->default_str("512");
      sub.add_flag("--stats", o->stats, "print token counts and timings after each reply (stderr)");
      return [o] { return chat(*o); };
    }};

}  // namespace
}  // namespace kvlm::cli
