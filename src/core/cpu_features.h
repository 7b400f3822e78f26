// Which SIMD kernels this CPU can run. Detected once; KVLM_ISA=generic|avx2|avx512
// forces a lower (or equal) level, e.g. for tests of every path.
#pragma once

#include <string_view>
#include <vector>

namespace kvlm {

enum class Isa { generic = 0, avx2 = 1, avx512 = 2 };

std::string_view isa_name(Isa isa);
// The best ISA this machine supports (ignores KVLM_ISA).
Isa detected_isa();
// detected_isa() lowered by KVLM_ISA when set; an unknown or unsupported
// value is an Error.
Isa selected_isa();
// Every ISA this machine can run, lowest first.
std::vector<Isa> supported_isas();

}  // namespace kvlm
