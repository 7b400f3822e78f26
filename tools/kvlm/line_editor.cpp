#include "line_editor.h"

#include <histedit.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <clocale>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <cwchar>
#include <iostream>
#include <langinfo.h>
#include <system_error>

#include "interrupt.h"

namespace kvlm::cli {

namespace fs = std::filesystem;

struct LineEditor::Impl {
  const InterruptFlag* interrupt = nullptr;
  fs::path history_file;
  EditLine* el = nullptr;
  History* history = nullptr;
  std::string prompt;

  static const char* prompt_of(EditLine* el) {
    void* self = nullptr;
    el_get(el, EL_CLIENTDATA, &self);
    return static_cast<Impl*>(self)->prompt.c_str();
  }

  // libedit's own reader retries a read that a signal interrupted, so a
  // Ctrl-C would not end the line; this one also waits on the interrupt's
  // pipe, which wakes it whichever thread took the signal.
  static int read_char(EditLine* el, wchar_t* out) {
    void* self = nullptr;
    el_get(el, EL_CLIENTDATA, &self);
    const InterruptFlag* interrupt = static_cast<Impl*>(self)->interrupt;
    char bytes[MB_LEN_MAX];
    std::size_t n = 0;
    while (true) {
      if (interrupt && interrupt->raised()) {
        errno = EINTR;
        return -1;
      }
      pollfd fds[2] = {{STDIN_FILENO, POLLIN, 0}, {interrupt ? interrupt->wake_fd() : -1, POLLIN, 0}};
      if (::poll(fds, 2, -1) < 0) {
        if (errno == EINTR) continue;  // the flag decides; other signals (SIGWINCH) do not end the line
        return -1;
      }
      if (fds[1].revents) {
        // The flag is raised before the pipe is written: a byte left from an
        // interrupt already cleared is dropped, the flag check above decides.
        char stale[64];
        [[maybe_unused]] const ssize_t drained = ::read(fds[1].fd, stale, sizeof stale);
        continue;
      }
      const ssize_t got = ::read(STDIN_FILENO, bytes + n, 1);
      if (got < 0) {
        if (errno == EINTR || errno == EAGAIN) continue;
        return -1;
      }
      if (got == 0) return 0;
      ++n;
      std::mbstate_t state{};
      const std::size_t r = std::mbrtowc(out, bytes, n, &state);
      if (r == std::size_t(-2) && n < sizeof bytes) continue;  // an incomplete character: read on
      if (r == std::size_t(-1) || r == std::size_t(-2)) {
        n = 0;  // an invalid sequence: drop it
        continue;
      }
      if (r == 0) *out = L'\0';
      return 1;
    }
  }
};

fs::path default_history_file() {
  const char* state = std::getenv("XDG_STATE_HOME");
  if (state && *state) return fs::path(state) / "kvlm" / "chat_history";
  const char* home = std::getenv("HOME");
  if (home && *home) return fs::path(home) / ".local" / "state" / "kvlm" / "chat_history";
  return {};
}

LineEditor::LineEditor(bool terminal, fs::path history_file, const InterruptFlag* interrupt)
    : impl_(std::make_unique<Impl>()) {
  impl_->interrupt = interrupt;
  impl_->history_file = std::move(history_file);
  if (!terminal) return;
  // libedit decodes keys and measures the line by the locale's character
  // set; the model speaks UTF-8, so fall back to it when the locale does not.
  if (!std::setlocale(LC_CTYPE, "") || std::strcmp(nl_langinfo(CODESET), "UTF-8") != 0)
    std::setlocale(LC_CTYPE, "C.UTF-8");
  // The editor draws on stderr, so `kvlm chat > reply.txt` keeps only replies.
  impl_->el = el_init("kvlm", stdin, stderr, stderr);
  if (!impl_->el) return;  // no line editing, plain reads still work
  impl_->history = history_init();
  HistEvent ev;
  history(impl_->history, &ev, H_SETSIZE, 1000);
  history(impl_->history, &ev, H_SETUNIQUE, 1);
  if (!impl_->history_file.empty()) history(impl_->history, &ev, H_LOAD, impl_->history_file.c_str());
  el_set(impl_->el, EL_CLIENTDATA, static_cast<void*>(impl_.get()));
  el_set(impl_->el, EL_EDITOR, "emacs");
  el_set(impl_->el, EL_HIST, history, impl_->history);
  el_set(impl_->el, EL_PROMPT, &Impl::prompt_of);
  el_set(impl_->el, EL_GETCFN, &Impl::read_char);
  el_source(impl_->el, nullptr);  // the user's ~/.editrc, when there is one
}

LineEditor::~LineEditor() {
  if (impl_->history) {
    if (!impl_->history_file.empty()) {
      std::error_code ec;
      fs::create_directories(impl_->history_file.parent_path(), ec);
      HistEvent ev;
      history(impl_->history, &ev, H_SAVE, impl_->history_file.c_str());  // best effort
    }
    history_end(impl_->history);
  }
  if (impl_->el) el_end(impl_->el);
}

LineInput LineEditor::read(const std::string& prompt) {
  if (!impl_->el) {
    LineInput in;
    if (std::getline(std::cin, in.text)) in.kind = LineInput::Kind::line;
    // A terminal without the editor: a Ctrl-C while typing must not cancel
    // the reply to the line it ends up in.
    if (impl_->interrupt && impl_->interrupt->raised()) in.kind = LineInput::Kind::interrupted;
    return in;
  }
  impl_->prompt = prompt;
  int count = 0;
  const char* line = el_gets(impl_->el, &count);
  LineInput in;
  if (line && count > 0) {
    in.kind = LineInput::Kind::line;
    in.text.assign(line, std::size_t(count));
    if (!in.text.empty() && in.text.back() == '\n') in.text.pop_back();
    return in;
  }
  if (count < 0 && errno == EINTR) {
    const LineInfo* typed = el_line(impl_->el);
    in.kind = LineInput::Kind::interrupted;
    in.text.assign(typed->buffer, typed->lastchar);
    std::fputc('\n', stderr);  // the next prompt starts on a line of its own
    return in;
  }
  if (count == 0) std::fputc('\n', stderr);  // Ctrl-D: leave the cursor on a fresh line
  return in;
}

void LineEditor::remember(const std::string& line) {
  if (!impl_->history || line.empty()) return;
  HistEvent ev;
  history(impl_->history, &ev, H_ENTER, line.c_str());
}

}  // namespace kvlm::cli
