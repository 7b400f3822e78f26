#include "kernels/kernels.h"

namespace kvlm {

const KernelTable& kernels_for(Isa isa) {
  switch (isa) {
    case Isa::avx512: return kernel_table_avx512();
    case Isa::avx2: return kernel_table_avx2();
    case Isa::generic: break;
  }
  return kernel_table_generic();
}

}  // namespace kvlm
