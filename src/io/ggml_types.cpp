#include "io/ggml_types.h"

#include <array>

#include "kvlm/error.h"

namespace kvlm {
namespace {

// Block geometry from ggml.c's type_traits (QK_K = 256).
constexpr std::array<GgmlTypeInfo, 11> kTypes{{
    {GgmlType::f32, "F32", 1, 4},
    {GgmlType::f16, "F16", 1, 2},
    {GgmlType::q4_0, "Q4_0", 32, 18},
    {GgmlType::q4_1, "Q4_1", 32, 20},
    {GgmlType::q5_0, "Q5_0", 32, 22},
    {GgmlType::q5_1, "Q5_1", 32, 24},
    {GgmlType::q8_0, "Q8_0", 32, 34},
    {GgmlType::q4_k, "Q4_K", 256, 144},
    {GgmlType::q5_k, "Q5_K", 256, 176},
    {GgmlType::q6_k, "Q6_K", 256, 210},
    {GgmlType::bf16, "BF16", 1, 2},
}};

// Every id ggml.h's enum ggml_type names (4, 5, 31-33 and 36-38 were removed).
constexpr std::array<const char*, 40> kGgmlNames{
    "F32",  "F16",     "Q4_0",    "Q4_1",    nullptr,  nullptr,  "Q5_0",   "Q5_1",   "Q8_0",   "Q8_1",
    "Q2_K", "Q3_K",    "Q4_K",    "Q5_K",    "Q6_K",   "Q8_K",   "IQ2_XXS", "IQ2_XS", "IQ3_XXS", "IQ1_S",
    "IQ4_NL", "IQ3_S", "IQ2_S",   "IQ4_XS",  "I8",     "I16",    "I32",    "I64",    "F64",    "IQ1_M",
    "BF16", nullptr,   nullptr,   nullptr,   "TQ1_0",  "TQ2_0",  nullptr,  nullptr,  nullptr,  "MXFP4",
};

}  // namespace

std::optional<GgmlTypeInfo> ggml_type_info(std::uint32_t id) {
  for (const GgmlTypeInfo& t : kTypes)
    if (std::uint32_t(t.type) == id) return t;
  return std::nullopt;
}

GgmlTypeInfo ggml_type_info(GgmlType type) {
  if (const auto info = ggml_type_info(std::uint32_t(type))) return *info;
  throw Error("internal: ggml type id " + std::to_string(std::uint32_t(type)) + " has no info");
}

std::string ggml_type_description(std::uint32_t id) {
  if (id < kGgmlNames.size() && kGgmlNames[id]) return std::string(kGgmlNames[id]) + " (id " + std::to_string(id) + ")";
  return "id " + std::to_string(id);
}

}  // namespace kvlm
