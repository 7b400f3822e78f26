// The services' system prompts, apart from the providers so that code that
// only builds prompts (the server's request parser, its fuzz target) needs
// nothing else.
#include "kvlm/error.h"
#include "kvlm/providers.h"

namespace kvlm {

std::string TranslationProvider::system_prompt(const std::string& source, const std::string& target) {
  if (target.empty()) throw Error("translate: no target language");
  const std::string from = source.empty() ? "" : "from " + source + " ";
  return "You are a " + target + " translator. Translate the user message " + from + "to " + target +
         ". Output only the translation.";
}

const std::string& CopyEditProvider::system_prompt() {
  static const std::string prompt =
      "You are a careful copy editor for speech transcripts. Fix only clear errors: capitalization, punctuation, "
      "misheard homophones and accidental repeated words. Keep the speaker's words, fillers and tone. Output only "
      "the corrected text.";
  return prompt;
}

}  // namespace kvlm
