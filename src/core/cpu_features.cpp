#include "core/cpu_features.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#include <cstdlib>
#include <string>

#include "kvlm/error.h"

namespace kvlm {

std::string_view isa_name(Isa isa) {
  switch (isa) {
    case Isa::generic: return "generic";
    case Isa::avx2: return "avx2";
    case Isa::avx512: return "avx512";
  }
  return "?";
}

Isa detected_isa() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  // The AVX-512 kernels use F, BW, VL, DQ and BF16 (vdpbf16ps) and VNNI.
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("avx512bf16") && __builtin_cpu_supports("avx512vnni"))
    return Isa::avx512;
  // F16C from CPUID leaf 1 (ECX bit 29): clang's __builtin_cpu_supports has no "f16c".
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  const bool f16c = __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & bit_F16C) != 0;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && f16c) return Isa::avx2;
#endif
  return Isa::generic;
}

Isa selected_isa() {
  const Isa best = detected_isa();
  const char* forced = std::getenv("KVLM_ISA");
  if (!forced || !*forced) return best;
  const std::string name = forced;
  Isa want;
  if (name == "generic") want = Isa::generic;
  else if (name == "avx2") want = Isa::avx2;
  else if (name == "avx512") want = Isa::avx512;
  else throw Error("KVLM_ISA='" + name + "' is not one of generic, avx2, avx512");
  if (int(want) > int(best))
    throw Error("KVLM_ISA=" + name + " is not supported by this CPU (best: " + std::string(isa_name(best)) + ")");
  return want;
}

std::vector<Isa> supported_isas() {
  std::vector<Isa> out;
  for (int i = 0; i <= int(detected_isa()); ++i) out.push_back(Isa(i));
  return out;
}

}  // namespace kvlm
