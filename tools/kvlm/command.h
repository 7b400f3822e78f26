// Subcommand registry of the kvlm CLI: each cmd_*.cpp registers itself with a
// static CommandRegistration, so adding a subcommand touches no other file.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace kvlm::cli {

// What every error line on stderr starts with: main prints it, and bench
// recognises a failed child's error by it.
inline constexpr std::string_view kErrorPrefix = "kvlm: error: ";

// Declares options on `sub` and returns the action to run once parsed
// (its return value is the process exit status).
using CommandSetup = std::function<std::function<int()>(CLI::App& sub)>;

struct CommandSpec {
  std::string name;
  std::string summary;
  CommandSetup setup;
};

std::vector<CommandSpec>& command_registry();

struct CommandRegistration {
  CommandRegistration(std::string name, std::string summary, CommandSetup setup) {
    command_registry().push_back({std::move(name), std::move(summary), std::move(setup)});
  }
};

}  // namespace kvlm::cli
