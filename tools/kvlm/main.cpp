// kvlm: the command-line front end. Errors print one line to stderr and exit
// non-zero (1 for runtime errors, 2 for bad usage).
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <exception>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "command.h"
#include "model_options.h"
#include "kvlm/error.h"
#include "kvlm/system.h"
#include "kvlm_git_commit.h"  // generated at build time (cmake/git_commit.cmake)

namespace kvlm::cli {

std::vector<CommandSpec>& command_registry() {
  static std::vector<CommandSpec> registry;
  return registry;
}

namespace {

void print_error(const std::string& what) {
  std::fprintf(stderr, "%.*s%s\n", int(kErrorPrefix.size()), kErrorPrefix.data(), with_source_names(what).c_str());
}

// CLI11 writes a failed check as "--temp: must be ..."; ours read as a sentence.
std::string parse_error_text(const CLI::ParseError& e) {
  std::string m = e.what();
  if (const auto at = m.find(": must "); at != std::string::npos && at < 40) m.erase(at, 1);
  return m;
}

std::string version_text() {
  std::string isa;
  try {
    isa = std::string(kvlm::kernel_isa_name());
  } catch (const std::exception& e) {
    isa = std::string("unavailable (") + e.what() + ")";
  }
  std::string build = KVLM_BUILD_TYPE;
  if (build.empty()) build = "unspecified";
  return std::string("kvlm ") + KVLM_CLI_VERSION + "\ncommit: " + KVLM_GIT_COMMIT + "\nbuild: " + build +
         "\nkernels: " + isa + "\n";
}

// Optimal string alignment distance: edits, with a swap of neighbours as one.
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i)
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[a.size()][b.size()];
}

// "unknown command 'trnaslate'; did you mean 'translate'?": the command that
// starts with `word`, else the nearest within a third of its length.
std::string unknown_command_text(const std::string& word) {
  std::string best;
  std::size_t best_distance = std::string::npos;
  for (const auto& spec : command_registry()) {
    const std::size_t d = spec.name.rfind(word, 0) == 0 ? 0 : edit_distance(word, spec.name);
    if (d < best_distance) best = spec.name, best_distance = d;
  }
  std::string text = "unknown command '" + word + "'";
  if (!best.empty() && best_distance <= std::max<std::size_t>(1, word.size() / 3))
    return text + "; did you mean '" + best + "'?";
  std::vector<std::string> names;
  for (const auto& spec : command_registry()) names.push_back(spec.name);
  std::sort(names.begin(), names.end());
  text += " (commands:";
  for (const auto& n : names) text += " " + n;
  return text + ")";
}

bool is_command(const std::string& word) {
  const auto& r = command_registry();
  return std::any_of(r.begin(), r.end(), [&](const CommandSpec& s) { return s.name == word; });
}

}  // namespace

}  // namespace kvlm::cli

int main(int argc, char** argv) {
  using namespace kvlm::cli;
  CLI::App app{"kvlm: a small, fast runtime for Llama 3.2 1B class models with a stateful KV cache", "kvlm"};
  app.require_subcommand(1, 1);
  app.set_help_all_flag("--help-all", "Show help for every subcommand");
  bool version_flag = false;  // handled before parsing; declared for --help
  app.add_flag("--version", version_flag, "Print the version, the commit, the build type and the kernels this CPU runs");
  // Every option's default shows in --help (subcommands inherit this).
  app.option_defaults()->always_capture_default();
  std::map<CLI::App*, std::function<int()>> actions;
  for (auto& spec : command_registry()) {
    CLI::App* sub = app.add_subcommand(spec.name, spec.summary);
    actions[sub] = spec.setup(*sub);
  }
  if (argc >= 2 && std::strcmp(argv[1], "--version") == 0) {
    std::fputs(version_text().c_str(), stdout);
    return 0;
  }
  if (argc < 2) {
    print_error("no command given; 'kvlm --help' lists them");
    return 2;
  }
  if (argv[1][0] != '-' && !is_command(argv[1])) {
    print_error(unknown_command_text(argv[1]));
    return 2;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    print_error(parse_error_text(e));
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
