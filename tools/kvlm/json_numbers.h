// Numbers in the CLI's --json output, rounded to what they can mean: a timer
// read in milliseconds does not resolve nanoseconds, and "1.1707022500000002"
// only makes the output harder to read and compare.
#pragma once

#include <cmath>

namespace kvlm::cli {

// `v` to `decimals` places (a score such as chrF, 0..100, to 0.01).
inline double json_round(double v, int decimals) {
  const double scale = std::pow(10.0, decimals);
  return std::round(v * scale) / scale;
}

// Milliseconds to 0.01 ms.
inline double json_ms(double ms) { return json_round(ms, 2); }

// A ratio, rate or score to `digits` significant digits (3 by default).
inline double json_ratio(double v, int digits = 3) {
  if (v == 0.0 || !std::isfinite(v)) return v;
  const double scale = std::pow(10.0, digits - 1 - int(std::floor(std::log10(std::fabs(v)))));
  return std::round(v * scale) / scale;
}

}  // namespace kvlm::cli
