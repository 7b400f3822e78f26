// The translation system prompt names the source language when one is given
// and is the CoreML port's prompt, byte for byte, when none is.
#include <gtest/gtest.h>

#include "kvlm/error.h"
#include "kvlm/providers.h"

namespace kvlm {
namespace {

TEST(TranslationPrompt, WithoutSourceIsTheCoreMlPrompt) {
  EXPECT_EQ(TranslationProvider::system_prompt("", "French"),
            "You are a French translator. Translate the user message to French. Output only the translation.");
}

TEST(TranslationPrompt, SourceIsNamed) {
  EXPECT_EQ(TranslationProvider::system_prompt("English", "French"),
            "You are a French translator. Translate the user message from English to French. Output only the "
            "translation.");
}

TEST(TranslationPrompt, EmptyTargetIsAnError) {
  EXPECT_THROW(TranslationProvider::system_prompt("English", ""), Error);
}

}  // namespace
}  // namespace kvlm
