// Reading `kvlm chat`'s input lines. On a terminal: libedit (BSD licensed)
// with cursor keys, emacs bindings (or ~/.editrc) and a history that Up and
// Down walk, kept between sessions in a file when one is given. Otherwise
// plain lines from stdin, as scripts pipe them in.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

namespace kvlm::cli {

class InterruptFlag;

struct LineInput {
  enum class Kind { line, end, interrupted };
  Kind kind = Kind::end;
  // line: the line without its newline; interrupted: what had been typed.
  std::string text;
};

class LineEditor {
 public:
  // `interrupt` (may be null): once raised (a Ctrl-C), the read in progress
  // ends with Kind::interrupted; the owner clears it.
  LineEditor(bool terminal, std::filesystem::path history_file, const InterruptFlag* interrupt);
  ~LineEditor();  // saves the history (a failure to write it is ignored)
  LineEditor(const LineEditor&) = delete;
  LineEditor& operator=(const LineEditor&) = delete;

  LineInput read(const std::string& prompt);
  // Adds a line to the history (Up recalls it); an empty line or a repeat of
  // the last one is not added.
  void remember(const std::string& line);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// $XDG_STATE_HOME/kvlm/chat_history, else ~/.local/state/kvlm/chat_history;
// empty when neither variable is set.
std::filesystem::path default_history_file();

}  // namespace kvlm::cli
