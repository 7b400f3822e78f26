#!/usr/bin/python3
"""Deterministic tokenizer test corpus: >= 2,000 strings of English, French,
German, CJK, Arabic, Hindi and other scripts, emoji with joiners, code, URLs,
digits, whitespace and newline runs, contractions in every letter case,
special-token look-alikes and random Unicode (fixed seed).

    /usr/bin/python3 make_corpus.py [--seed N] > corpus.jsonl   (one JSON string a line)

The expected ids for these strings come from the JavaScript reference
(encode.mjs), never from kvlm.
"""
import argparse
import itertools
import json
import random
import sys
import unicodedata

ENGLISH = [
    "The quick brown fox jumps over the lazy dog.",
    "Hello, world!",
    "It was the best of times, it was the worst of times.",
    "Translate the following sentence into French: I would like a cup of coffee, please.",
    "Please fix the punctuation and capitalization of this transcript without changing any words.",
    "In 1969, Neil Armstrong became the first person to walk on the Moon.",
    "She sells seashells by the seashore; the shells she sells are surely seashells.",
    "Why do we park on driveways and drive on parkways?",
    "The meeting is scheduled for 3:45 PM on Tuesday, March 12th, 2024.",
    "Dr. Smith's office (room 4B) is on the 2nd floor -- take the elevator.",
    "   leading spaces and trailing spaces   ",
    "UPPER CASE SENTENCE WITH NUMBERS 123 AND SYMBOLS #$%!",
    "camelCaseIdentifier snake_case_identifier kebab-case-identifier",
    "A stateful KV cache keeps the keys and values of every previous token.",
    "\"Quoted text,\" he said, 'and single quotes' too.",
    "Ellipsis... em-dash \u2014 en-dash \u2013 and bullet \u2022 points.",
    "Tabs\tseparate\tthese\twords.",
    "Line one\nLine two\n\nLine four after a blank line",
    "Windows line endings\r\nare here\r\n",
    "Mixed    multiple     spaces between     words.",
]

EN_SUBJECTS = ["The model", "A user", "My neighbour", "Every translator", "This tokenizer", "Our team", "The cat", "Nobody"]
EN_VERBS = ["reads", "writes", "translates", "ignores", "counts", "encodes", "forgets", "remembers"]
EN_OBJECTS = ["the long report", "three short emails", "a poem about the sea", "every token", "nothing at all",
              "the 2nd chapter", "its own output", "fifty-two cards"]
EN_TAILS = [".", "!", "?", " today.", " again and again...", ", quickly.", " (twice).", ";", ":", " -- maybe."]

FRENCH = [
    "Bonjour, je m'appelle Marie et j'habite à Paris.",
    "Où est la bibliothèque ? Elle est à côté de l'église.",
    "L'été dernier, nous sommes allés en Bretagne ; c'était magnifique !",
    "Ça coûte combien ? — Vingt-cinq euros, s'il vous plaît.",
    "Les élèves ont réussi l'examen grâce à leur persévérance.",
    "Il faut qu'on se dépêche, sinon on va rater le train de 18 h 30.",
    "« Je ne sais pas », répondit-il en haussant les épaules.",
    "Noël, œuvre, cœur, naïve, maïs, Ægir, façade, déjà-vu.",
]
GERMAN = [
    "Guten Morgen! Wie geht es Ihnen heute?",
    "Die Straße ist wegen Bauarbeiten gesperrt.",
    "Donaudampfschifffahrtsgesellschaftskapitän ist ein sehr langes Wort.",
    "Ich hätte gern zwei Brötchen und einen Kaffee, bitte.",
    "Über den Wolken muss die Freiheit wohl grenzenlos sein.",
    "Größenwahn, Übermut, Ärger, Öl und süße Äpfel.",
    "„Das ist doch nicht möglich“, sagte sie.",
]
OTHER_LANGS = [
    "这是一个测试句子，用于检查分词器是否正确。",
    "我喜欢在周末去公园散步，然后喝一杯咖啡。",
    "機械学習は人工知能の一分野です。東京は日本の首都です。",
    "ひらがなとカタカナ、そして漢字が混ざった文章です。",
    "안녕하세요! 오늘 날씨가 정말 좋네요.",
    "한국어 형태소 분석은 어렵습니다.",
    "مرحبا بالعالم! كيف حالك اليوم؟",
    "اللغة العربية جميلة جدا، وهي لغة القرآن الكريم.",
    "नमस्ते, आप कैसे हैं? मैं ठीक हूँ, धन्यवाद।",
    "हिन्दी भारत की राजभाषा है और इसे देवनागरी लिपि में लिखा जाता है।",
    "Привет, как дела? Всё хорошо, спасибо!",
    "Москва — столица России, а Киев — столица Украины.",
    "Γειά σου Κόσμε! Η ελληνική γλώσσα είναι αρχαία.",
    "שלום עולם! מה שלומך היום?",
    "สวัสดีครับ วันนี้อากาศดีมาก",
    "Xin chào, tôi là người Việt Nam.",
    "Türkçe karakterler: ğüşıöç ĞÜŞİÖÇ.",
    "Polski: zażółć gęślą jaźń.",
    "Español: ¿Dónde está el baño? ¡Muchas gracias, señor!",
    "Português: ação, coração, não, pão.",
    "ქართული ენა ძალიან ლამაზია.",
    "Հայերեն լեզու",
    "ᐃᓄᒃᑎᑐᑦ ᑎᑎᕋᐅᓯᖅ",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝕞𝕒𝕥𝕙 𝒮𝒸𝓇𝒾𝓅𝓉 and 𝟙𝟚𝟛",
]
EMOJI = [
    "👋 Hello 🌍!",
    "Family: 👨‍👩‍👧‍👦 and couple: 👩‍❤️‍👨",
    "Skin tones: 👍🏻 👍🏼 👍🏽 👍🏾 👍🏿",
    "Flags: 🇫🇷 🇩🇪 🇯🇵 🇺🇸 🏳️‍🌈 🏴‍☠️",
    "Keycaps: 1️⃣ 2️⃣ #️⃣ *️⃣",
    "Professions: 👩‍💻 👨‍🚀 🧑‍🔬 👩🏽‍🍳",
    "🤖🤖🤖 robots 🦾",
    "Emoji without spaces:😀😃😄😁😆😅🤣😂",
    "Variation selectors: ❤️ ❤ ☺️ ☺ ✔️",
    "🧑🏿‍🤝‍🧑🏻 hand in hand",
]
CODE = [
    "def fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\n",
    "for (int i = 0; i < n; ++i) {\n\tsum += a[i] * b[i];\n}",
    "#include <vector>\nint main() { std::vector<int> v{1, 2, 3}; return v.size(); }",
    "const x = {a: 1, 'b': [true, false, null]};  // comment",
    '{"name": "kvlm", "version": "0.1.0", "tags": ["llm", "cpu"]}',
    "<html><body><p class=\"x\">Hello &amp; welcome</p></body></html>",
    "SELECT id, name FROM users WHERE age >= 18 ORDER BY name DESC;",
    "$ ls -la /usr/local/bin | grep -i python3 && echo \"done\"",
    "x = [i**2 for i in range(10) if i % 2 == 0]",
    "if (a != b && c <= d || !e) { return; }",
    "    indented with four spaces\n        and eight\n\t\tand two tabs",
    "fn main() -> Result<(), Box<dyn Error>> { println!(\"{:?}\", x); Ok(()) }",
    "lambda x: x[::-1]  # reverse",
    "git commit -m 'Fix the tokenizer: merges as pairs'",
]
URLS = [
    "https://www.example.com/path/to/page?query=1&lang=en#section-2",
    "Visit http://localhost:8080/api/v1/items/42 for details.",
    "Email me at first.last+tag@example.co.uk or admin@kvlm.dev.",
    "ftp://files.example.org/pub/README.txt",
    "https://huggingface.co/meta-llama/Llama-3.2-1B-Instruct/resolve/main/tokenizer.json",
    "C:\\Users\\Public\\Documents\\report_final(2).docx",
    "/home/user/.config/kvlm/settings.toml",
    "www.test-site.org/a_b-c.d/~user/%20encoded%2Fpath",
]
SPECIAL_LOOKALIKES = [
    "<|eot_id|>",
    "<|begin_of_text|>Hello",
    "User typed <|eot_id|> in the middle.",
    "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>",
    "<|end_of_text|><|end_of_text|>",
    "<|reserved_special_token_5|>",
    "<|eot_id |> <| eot_id|> <|EOT_ID|> <|eot_id",
    "<s>Hello</s>",
    "[INST] Hello [/INST]",
    "<unk> <pad> <mask>",
    "<|im_start|>user\nHi<|im_end|>",
    "<think>Let me think.</think>Answer",
    "<tool_call>{\"name\": \"f\"}</tool_call>",
    "<start_of_turn>user\nHello<end_of_turn>",
    "<bos><eos>",
    "<|endoftext|>",
    "a<|eot_id|>b<|eot_id|>c",
    "<<|eot_id|>>",
]
EDGE = [
    "", " ", "  ", "\n", "\n\n", "\n\n\n\n", "\t", "\r\n", " \n ", "a", "A", "1", ".", "'", "''", "'s",
    "a" * 1000, "ab" * 300, "1" * 200, "!" * 50, " " * 100, "\n" * 40, "\u00a0" * 5, "\u3000\u3000",
    "x\u200by", "zero\u200dwidth\u200cjoiner", "soft\u00adhyphen", "bidi \u202eoverride\u202c text",
    "e\u0301 vs \u00e9", "A\u030a vs \u00c5 vs \u212b", "\u1100\u1161\u11a8 vs \uac01", "ﬁ ligature and ｆｕｌｌｗｉｄｔｈ",
    "\ufb01\ufb02\ufb03", "Ω \u2126 ohm", "K \u212a kelvin", "\u0130stanbul \u0131", "ß ẞ ss SS",
    "NUL?\u0001\u0002\u0003\u001f\u007f", "line\u2028separator\u2029paragraph", "\u0085next line", "\ufeffbom",
]
DIGITS = [
    "0", "12", "123", "1234", "12345", "123456", "1234567", "3.14159", "-42", "+1 (555) 010-9999",
    "1,000,000", "1.000.000,50", "2024-03-12T08:30:00Z", "0x1F 0b1010 0o777", "1e-9", "v1.2.3-rc.4",
    "٠١٢٣٤٥٦٧٨٩", "०१२३४५६७८९", "一二三 123 一二三", "①②③ ⅠⅡⅢ ½ ¾ ²³", "１２３４５",
    "abc123def456", "A1B2C3", "9999999999999999999999",
]
CONTRACTIONS = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d"]
WHITESPACE_PIECES = [" ", "  ", "\t", "\n", "\n\n", "\r\n", " \n", "\n ", "\u00a0", "\u3000", "\u2009", "\r", "\v", "\f"]


def case_variants(s):
    """Every upper/lower combination of the letters of s."""
    options = [(c.lower(), c.upper()) if c.isalpha() else (c,) for c in s]
    return sorted({"".join(p) for p in itertools.product(*options)})


def random_unicode_char(rng):
    # Assigned, non-surrogate code points; the planes real text uses most.
    while True:
        plane = rng.random()
        if plane < 0.45:
            cp = rng.randrange(0x20, 0x3000)
        elif plane < 0.8:
            cp = rng.randrange(0x3000, 0x10000)
        else:
            cp = rng.randrange(0x10000, 0x32000)
        if 0xD800 <= cp <= 0xDFFF:
            continue
        if unicodedata.category(chr(cp)) in ("Cn", "Cs"):
            continue
        return chr(cp)


def build_corpus(seed=1234):
    rng = random.Random(seed)
    corpus = []
    corpus += ENGLISH + FRENCH + GERMAN + OTHER_LANGS + EMOJI + CODE + URLS + SPECIAL_LOOKALIKES + EDGE + DIGITS

    # English from templates.
    for _ in range(300):
        s = f"{rng.choice(EN_SUBJECTS)} {rng.choice(EN_VERBS)} {rng.choice(EN_OBJECTS)}{rng.choice(EN_TAILS)}"
        if rng.random() < 0.3:
            s = s.upper() if rng.random() < 0.5 else s.lower()
        corpus.append(s)

    # Contractions in every letter case, in context and alone.
    for c in CONTRACTIONS:
        for v in case_variants(c):
            corpus.append(v)
            corpus.append(f"it{v} here")
            corpus.append(f"IT{v} HERE")
            corpus.append(f"x {v} y")
            corpus.append(f"we{v}{v}")
            corpus.append(f"123{v}")
            corpus.append(f"\u2019{v[1:]} and {v} and it\u2019{v[1:]}")
    corpus += ["I'm sure you've said they'd know we'll go; she's here, isn't it?",
               "I'M SURE YOU'VE SAID THEY'D KNOW WE'LL GO; SHE'S HERE, ISN'T IT?",
               "don't DON'T Don'T dOn'T can't won't shan't y'all o'clock rock'n'roll",
               "'tis 'twas ''s '''ll 's's"]

    # Words joined by runs of whitespace.
    words = ["alpha", "Beta", "42", "été", "字", "🙂", "x", "END", ".", "'s"]
    for _ in range(250):
        parts = []
        for _ in range(rng.randint(1, 6)):
            parts.append(rng.choice(words))
            parts.append("".join(rng.choice(WHITESPACE_PIECES) for _ in range(rng.randint(1, 4))))
        if rng.random() < 0.5:
            parts.insert(0, "".join(rng.choice(WHITESPACE_PIECES) for _ in range(rng.randint(1, 3))))
        corpus.append("".join(parts))

    # Numbers of every length and in context.
    for n in range(1, 25):
        corpus.append("".join(rng.choice("0123456789") for _ in range(n)))
        corpus.append(f"Order #{rng.randint(0, 10**n)} costs ${rng.randint(0, 10**6)}.{rng.randint(0, 99):02d}")

    # Sentences mixed across languages.
    pools = [ENGLISH, FRENCH, GERMAN, OTHER_LANGS, EMOJI, URLS]
    for _ in range(200):
        k = rng.randint(2, 4)
        sep = rng.choice([" ", "\n", "  ", "\n\n", "", "\t"])
        corpus.append(sep.join(rng.choice(rng.choice(pools)) for _ in range(k)))

    # Code fragments with varied indentation.
    for _ in range(80):
        lines = rng.choice(CODE).split("\n")
        indent = rng.choice(["", "  ", "    ", "\t", "\t\t", "        "])
        corpus.append("\n".join(indent + line for line in lines))

    # Random printable ASCII.
    ascii_chars = [chr(c) for c in range(0x20, 0x7F)] + ["\n", "\t"]
    for _ in range(300):
        corpus.append("".join(rng.choice(ascii_chars) for _ in range(rng.randint(1, 60))))

    # Random Unicode, alone and mixed with ASCII words.
    for _ in range(500):
        n = rng.randint(1, 30)
        chars = []
        for _ in range(n):
            r = rng.random()
            if r < 0.6:
                chars.append(random_unicode_char(rng))
            elif r < 0.8:
                chars.append(rng.choice(ascii_chars))
            else:
                chars.append(rng.choice(WHITESPACE_PIECES))
        corpus.append("".join(chars))

    # Emoji sequences built from joiners and modifiers.
    bases = ["👩", "👨", "🧑", "👧", "👦", "❤", "🏳", "🐻", "👁"]
    mods = ["", "\U0001F3FB", "\U0001F3FF", "\uFE0F"]
    for _ in range(80):
        parts = [rng.choice(bases) + rng.choice(mods) for _ in range(rng.randint(1, 4))]
        corpus.append("\u200d".join(parts) + rng.choice(["", " ok", "!", "\n"]))

    # Decomposed (NFD) text, which NFC normalizers recompose.
    for s in FRENCH + GERMAN + OTHER_LANGS[:12]:
        corpus.append(unicodedata.normalize("NFD", s))

    # Special-token look-alikes embedded in text.
    for _ in range(60):
        a, b = rng.choice(ENGLISH), rng.choice(SPECIAL_LOOKALIKES)
        sep = rng.choice(["", " ", "\n"])
        corpus.append(a[: rng.randint(0, len(a))] + b + sep + rng.choice(FRENCH))

    # Long texts.
    for _ in range(10):
        corpus.append(" ".join(rng.choice(ENGLISH + FRENCH + GERMAN) for _ in range(40)))
    return list(dict.fromkeys(corpus))  # unique, in order


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=1234)
    args = parser.parse_args()
    out = sys.stdout
    for s in build_corpus(args.seed):
        # ASCII-only lines: no reader can split them at U+2028 or similar.
        out.write(json.dumps(s) + "\n")


if __name__ == "__main__":
    main()
