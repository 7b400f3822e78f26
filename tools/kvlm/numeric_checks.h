// Validators for the CLI's numeric options that say what is wrong in words
// ("must be between 0 and 1, got 2"); CLI11's own Range prints its bounds as
// 310-digit numbers and calls "abc" out of range. main turns "--top-p: must
// ..." into "--top-p must ...". Also the --threads check against the cores.
#pragma once

#include <sched.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <optional>
#include <string>
#include <thread>

namespace kvlm::cli {

namespace numeric_detail {

// The whole of `s` as a number (strtod syntax, finite), or nullopt.
inline std::optional<double> parse_number(const std::string& s) {
  if (s.empty() || std::isspace(static_cast<unsigned char>(s[0]))) return std::nullopt;
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size() || errno == ERANGE || !std::isfinite(v)) return std::nullopt;
  return v;
}

// The whole of `s` as a base-10 integer, or nullopt.
inline std::optional<long long> parse_integer(const std::string& s) {
  if (s.empty() || std::isspace(static_cast<unsigned char>(s[0]))) return std::nullopt;
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(s.c_str(), &end, 10);
  if (end != s.c_str() + s.size() || errno == ERANGE) return std::nullopt;
  return v;
}

// Bounds as people write them: 0.01, 1, 65535.
inline std::string show(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

inline std::string got(const std::string& s) { return ", got '" + s + "'"; }

}  // namespace numeric_detail

// An integer in [lo, hi]; hi unset: no upper bound.
inline CLI::Validator integer_between(long long lo, std::optional<long long> hi = std::nullopt) {
  const std::string desc = hi ? "INT " + std::to_string(lo) + ".." + std::to_string(*hi) : "INT >= " + std::to_string(lo);
  return CLI::Validator(
      [lo, hi](std::string& s) -> std::string {
        const auto v = numeric_detail::parse_integer(s);
        if (!v) return "must be a whole number" + numeric_detail::got(s);
        if (hi && (*v < lo || *v > *hi))
          return "must be between " + std::to_string(lo) + " and " + std::to_string(*hi) + numeric_detail::got(s);
        if (*v < lo) return "must be at least " + std::to_string(lo) + numeric_detail::got(s);
        return {};
      },
      desc);
}

inline CLI::Validator integer_at_least(long long lo) { return integer_between(lo); }

// Any integer (a seed).
inline CLI::Validator integer_any() {
  return CLI::Validator(
      [](std::string& s) -> std::string {
        return numeric_detail::parse_integer(s) ? std::string() : "must be a whole number" + numeric_detail::got(s);
      },
      "INT");
}

// A number in [lo, hi].
inline CLI::Validator number_between(double lo, double hi) {
  return CLI::Validator(
      [lo, hi](std::string& s) -> std::string {
        const auto v = numeric_detail::parse_number(s);
        if (!v) return "must be a number" + numeric_detail::got(s);
        if (*v < lo || *v > hi)
          return "must be between " + numeric_detail::show(lo) + " and " + numeric_detail::show(hi) +
                 numeric_detail::got(s);
        return {};
      },
      "NUMBER " + numeric_detail::show(lo) + ".." + numeric_detail::show(hi));
}

// A number in (0, hi]: a share that must keep something (--top-p).
inline CLI::Validator number_above_zero_up_to(double hi) {
  return CLI::Validator(
      [hi](std::string& s) -> std::string {
        const auto v = numeric_detail::parse_number(s);
        if (!v) return "must be a number" + numeric_detail::got(s);
        if (*v <= 0 || *v > hi)
          return "must be greater than 0 and at most " + numeric_detail::show(hi) + numeric_detail::got(s);
        return {};
      },
      "NUMBER in (0, " + numeric_detail::show(hi) + "]");
}

// A number above 0.
inline CLI::Validator positive_number() {
  return CLI::Validator(
      [](std::string& s) -> std::string {
        const auto v = numeric_detail::parse_number(s);
        if (!v) return "must be a number" + numeric_detail::got(s);
        if (*v <= 0) return "must be greater than 0" + numeric_detail::got(s);
        return {};
      },
      "NUMBER > 0");
}

// The CPUs this process may run on (its affinity mask), else the hardware threads.
inline int usable_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
  const unsigned n = std::thread::hardware_concurrency();
  return n ? int(n) : 1;
}

// One warning line when more threads are asked for than there are cores: they
// take turns on the cores and decode gets many times slower, not faster.
inline void warn_if_more_threads_than_cores(int threads) {
  const int cores = usable_cores();
  if (threads > cores)
    std::fprintf(stderr, "kvlm: warning: %d threads on %d core%s: threads beyond the cores slow every step down\n",
                 threads, cores, cores == 1 ? "" : "s");
}

// -t/--threads: 0 (one per core) or more, with the warning above.
inline CLI::Option* add_threads_option(CLI::App& sub, int& threads) {
  return sub.add_option("-t,--threads", threads, "threads (0: one per core)")
      ->check(integer_at_least(0))
      ->each([](const std::string& s) {
        if (const auto v = numeric_detail::parse_integer(s)) warn_if_more_threads_than_cores(int(*v));
      });
}

}  // namespace kvlm::cli
