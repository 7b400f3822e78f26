#include "kvlm/dtype.h"

#include <string>

#include "kvlm/error.h"

namespace kvlm {

std::string_view dtype_name(DType t) {
  switch (t) {
    case DType::f32: return "f32";
    case DType::f16: return "f16";
    case DType::bf16: return "bf16";
    case DType::q8: return "q8";
    case DType::q4: return "q4";
  }
  return "?";
}

DType parse_dtype(std::string_view name) {
  if (name == "f32" || name == "float32") return DType::f32;
  if (name == "f16" || name == "float16") return DType::f16;
  if (name == "bf16" || name == "bfloat16") return DType::bf16;
  if (name == "q8") return DType::q8;
  if (name == "q4") return DType::q4;
  throw Error("unknown dtype '" + std::string(name) + "' (expected f32, f16, bf16, q8 or q4)");
}

}  // namespace kvlm
