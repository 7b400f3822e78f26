// translate MODEL TARGET [TEXT]: translates TEXT (or each line of stdin) into
// TARGET ("French", "German", ...) with kvlm's C++ TranslationProvider, which
// prefills its system prompt once and reuses it for every line.
#include <iostream>
#include <string>

#include <kvlm/error.h>
#include <kvlm/providers.h>

int main(int argc, char** argv) {
  if (argc < 3 || argc > 4) {
    std::cerr << "usage: " << argv[0] << " MODEL TARGET [TEXT]   (MODEL: a directory, .kvlm, .gguf or kv:NAME)\n";
    return 2;
  }
  try {
    kvlm::TranslationProvider translator;
    translator.configure(argv[1]);
    if (argc == 4) {
      std::cout << translator.translate(argv[3], "", argv[2]) << "\n";
      return 0;
    }
    for (std::string line; std::getline(std::cin, line);) std::cout << translator.translate(line, "", argv[2]) << "\n";
    return 0;
  } catch (const kvlm::Error& e) {
    std::cerr << "translate: " << e.what() << "\n";
    return 1;
  }
}
