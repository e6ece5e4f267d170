#!/usr/bin/env python3
"""Golden ids of chat conversations, derived without t2 (CI never runs this; its output is
committed as tests/reference/golden/chat_template_ids.json).

What Hugging Face's tokenizer.apply_chat_template(messages, add_generation_prompt=True) does:
  1. render the model's Jinja chat_template with messages, bos_token, eos_token and
     add_generation_prompt, in a sandboxed environment with trim_blocks and lstrip_blocks and
     a raise_exception function (done here with jinja2 itself: python3-jinja2);
  2. encode the text with add_special_tokens=False.
Step 2 is an independent minimal tokenizer written here: added tokens cut out first (leftmost,
longest), then per stretch of text
  - SentencePiece fixtures (chat_llama2, chat_mistral): Prepend("▁") + Replace(" ", "▁")
    normalizer, or Metaspace(prepend_scheme first: "▁" only before a stretch at offset 0),
    then textbook BPE over characters (lowest merge rank first, leftmost on ties), characters
    outside the vocabulary as <0xXX> byte tokens;
  - the Qwen2.5 fixture (chat_qwen25): the Qwen2 pre-tokenizer regex restricted to ASCII (the
    texts are ASCII), bytes -> GPT-2 unicode, textbook BPE;
  - Llama 3 (the real files in $T2_SHARED_DATA/tokenizers/llama3): the Llama 3 regex restricted
    to ASCII; the messages are chosen so that every pre-token is a whole vocabulary entry,
    which Llama 3's ignore_merges turns into one id (asserted).

Usage: python3 tests/reference/chat_template_ids.py [SHARED_DATA_DIR]
"""
import json
import os
import re
import sys

from jinja2.exceptions import TemplateError
from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment

from chat_fixtures import byte_to_unicode  # GPT-2's bytes -> unicode table

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "data", "tokenizers")
SPACE = "\u2581"

# The conversation of the golden cases: system, user, assistant, user; white space at the
# edges shows which templates trim.
SYSTEM = " You are a terse assistant. "
CONVERSATION = [
    {"role": "system", "content": SYSTEM},
    {"role": "user", "content": "What is 2+2?"},
    {"role": "assistant", "content": " 2+2 is 4. \n"},
    {"role": "user", "content": "And 3+3?\n"},
]
# What t2's prompt encoder sends: an optional system message and one user turn.
SINGLE = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "What is 2+2?"}]
USER_ONLY = [{"role": "user", "content": "What is 2+2?"}]

ASCII_L, ASCII_N = "a-zA-Z", "0-9"
QWEN2_ASCII = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n%(L)s%(N)s]?[%(L)s]+|[%(N)s]| ?[^\s%(L)s%(N)s]+"
               r"[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+") % {"L": ASCII_L, "N": ASCII_N}
LLAMA3_ASCII = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n%(L)s%(N)s]?[%(L)s]+|[%(N)s]{1,3}| ?"
                r"[^\s%(L)s%(N)s]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+") % {"L": ASCII_L,
                                                                     "N": ASCII_N}


def raise_exception(message):
    raise TemplateError(message)


def render(template, messages, bos, eos):
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[loopcontrols])
    env.globals["raise_exception"] = raise_exception
    return env.from_string(template).render(messages=messages, bos_token=bos or "",
                                            eos_token=eos or "", add_generation_prompt=True)


def split_added(text, added):
    """[(is_added, piece)]: added tokens cut out, leftmost first, longest at a position."""
    out, pos, start = [], 0, 0
    contents = sorted(added, key=len, reverse=True)
    while pos < len(text):
        hit = next((c for c in contents if text.startswith(c, pos)), None)
        if hit is None:
            pos += 1
            continue
        if pos > start:
            out.append((False, text[start:pos], start))
        out.append((True, hit, pos))
        pos += len(hit)
        start = pos
    if start < len(text):
        out.append((False, text[start:], start))
    return out


def bpe(symbols, ranks):
    """Textbook BPE: merge the adjacent pair of lowest rank (leftmost on ties) until none."""
    symbols = list(symbols)
    while True:
        best = None
        for i in range(len(symbols) - 1):
            r = ranks.get((symbols[i], symbols[i + 1]))
            if r is not None and (best is None or r < best[0]):
                best = (r, i)
        if best is None:
            return symbols
        i = best[1]
        symbols[i:i + 2] = [symbols[i] + symbols[i + 1]]


def load(folder):
    with open(os.path.join(folder, "tokenizer.json"), encoding="utf-8") as f:
        tok = json.load(f)
    with open(os.path.join(folder, "tokenizer_config.json"), encoding="utf-8") as f:
        config = json.load(f)
    return tok, config


def token_text(value):
    return value["content"] if isinstance(value, dict) else value


def ranks_of(tok):
    merges = tok["model"]["merges"]
    return {tuple(m if isinstance(m, list) else m.split(" ")): i for i, m in enumerate(merges)}


def encode_sentencepiece(tok, text):
    vocab = tok["model"]["vocab"]
    ranks = ranks_of(tok)
    added = {a["content"]: a["id"] for a in tok["added_tokens"]}
    metaspace = tok["pre_tokenizer"] is not None
    ids = []
    for is_added, piece, offset in split_added(text, added):
        if is_added:
            ids.append(added[piece])
            continue
        piece = piece.replace(" ", SPACE)
        if (not metaspace or offset == 0) and not (metaspace and piece.startswith(SPACE)):
            piece = SPACE + piece
        for sym in bpe(list(piece), ranks):
            if sym in vocab:
                ids.append(vocab[sym])
            else:
                ids.extend(vocab["<0x%02X>" % b] for b in sym.encode("utf-8"))
    return ids


def regex_pieces(pattern, text):
    """Isolated split: the matches and the text between them."""
    out, pos = [], 0
    for m in re.finditer(pattern, text, re.ASCII):
        if m.start() > pos:
            out.append(text[pos:m.start()])
        out.append(m.group(0))
        pos = m.end()
    if pos < len(text):
        out.append(text[pos:])
    return out


def encode_byte_level(tok, text, pattern, whole_tokens):
    assert all(ord(c) < 128 for c in text), "the reference regexes are ASCII-only"
    vocab = tok["model"]["vocab"]
    added = {a["content"]: a["id"] for a in tok["added_tokens"]}
    b2u = byte_to_unicode()
    ranks = None if whole_tokens else ranks_of(tok)
    ids = []
    for is_added, piece, _ in split_added(text, added):
        if is_added:
            ids.append(added[piece])
            continue
        for pre in regex_pieces(pattern, piece):
            spelt = "".join(b2u[b] for b in pre.encode("utf-8"))
            if whole_tokens:
                assert spelt in vocab, "pre-token %r is not one Llama 3 token" % pre
                ids.append(vocab[spelt])
            else:
                ids.extend(vocab[s] for s in bpe(list(spelt), ranks))
    return ids


def case(name, folder, messages, encode, tok, config):
    text = render(config["chat_template"], messages, token_text(config.get("bos_token")),
                  token_text(config.get("eos_token")))
    return name, {"folder": folder, "messages": messages, "text": text,
                  "ids": encode(tok, text)}


def main():
    shared = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "..", "..",
                                                                 "shared", "data")
    cases = {}
    for family, folder, encode in [
            ("llama2", "chat_llama2", encode_sentencepiece),
            ("mistral", "chat_mistral", encode_sentencepiece),
            ("chatml", "chat_qwen25",
             lambda t, s: encode_byte_level(t, s, QWEN2_ASCII, False))]:
        tok, config = load(os.path.join(FIXTURES, folder))
        for suffix, messages in [("", CONVERSATION), ("_single", SINGLE),
                                 ("_user", USER_ONLY)]:
            name, c = case(family + suffix, "tests/data/tokenizers/" + folder, messages,
                           encode, tok, config)
            cases[name] = c
    tok, config = load(os.path.join(shared, "tokenizers", "llama3"))
    for suffix, messages in [("", CONVERSATION), ("_single", SINGLE), ("_user", USER_ONLY)]:
        name, c = case("llama3" + suffix, "$T2_SHARED_DATA/tokenizers/llama3", messages,
                       lambda t, s: encode_byte_level(t, s, LLAMA3_ASCII, True), tok, config)
        cases[name] = c
    out = os.path.join(HERE, "golden", "chat_template_ids.json")
    with open(out, "w", encoding="utf-8") as f:
        json.dump(cases, f, ensure_ascii=False, indent=1)
        f.write("\n")
    for name, c in cases.items():
        print(name, json.dumps(c["text"]))
        print("  ", " ".join(map(str, c["ids"])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
