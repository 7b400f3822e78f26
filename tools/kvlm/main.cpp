// kvlm: the command-line front end. Errors print one line to stderr and exit
// non-zero (1 for runtime errors, 2 for bad usage).
#include <cstdio>
#include <exception>
#include <map>

#include "command.h"
#include "kvlm/error.h"

namespace kvlm::cli {

std::vector<CommandSpec>& command_registry() {
  static std::vector<CommandSpec> registry;
  return registry;
}

namespace {

void print_error(const char* what) {
  std::fprintf(stderr, "%.*s%s\n", int(kErrorPrefix.size()), kErrorPrefix.data(), what);
}

}  // namespace

}  // namespace kvlm::cli

int main(int argc, char** argv) {
  using namespace kvlm::cli;
  CLI::App app{"kvlm: a small, fast runtime for Llama 3.2 1B class models with a stateful KV cache", "kvlm"};
  app.require_subcommand(1, 1);
  app.set_help_all_flag("--help-all", "Show help for every subcommand");
  std::map<CLI::App*, std::function<int()>> actions;
  for (auto& spec : command_registry()) {
    CLI::App* sub = app.add_subcommand(spec.name, spec.summary);
    actions[sub] = spec.setup(*sub);
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    print_error(e.what());
    return 2;
  }
  try {
    for (auto& [sub, action] : actions)
      if (sub->parsed()) return action();
  } catch (const kvlm::Error& e) {
    print_error(e.what());
    return 1;
  } catch (const std::bad_alloc&) {
    print_error("out of memory");
    return 1;
  } catch (const std::exception& e) {
    print_error(e.what());
    return 1;
  }
  return 2;
}
