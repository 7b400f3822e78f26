// Rotary position embedding tables in the Hugging Face convention.
#pragma once

#include <vector>

#include "kvlm/config.h"

namespace kvlm {

// inv_freq[i] for i in [0, head_dim/2), with llama3 rope scaling applied as
// transformers' _compute_llama3_parameters does (f32 results).
std::vector<float> rope_inverse_frequencies(const ModelConfig& config);

// Fills cos/sin [count][head_dim/2] for positions first .. first+count-1.
// The angle is rounded to f32 first, as torch computes inv_freq * position.
void rope_tables(const std::vector<float>& inv_freq, int first, int count, float* cos_out, float* sin_out);

}  // namespace kvlm
