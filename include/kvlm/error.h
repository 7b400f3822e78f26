// Errors thrown across the kvlm API. Every message is one plain line that
// names the file, tensor or field at fault; the CLI prints it and exits 1.
#pragma once

#include <stdexcept>
#include <string>

namespace kvlm {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// Thrown when a forward call would overflow the State's max_ctx; the State is
// left exactly as it was before the call.
class ContextOverflowError : public Error {
 public:
  using Error::Error;
};

}  // namespace kvlm
