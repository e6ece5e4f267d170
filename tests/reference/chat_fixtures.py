#!/usr/bin/env python3
"""Writes the small tokenizer folders of the chat-template and special-token tests under
tests/data/tokenizers/ (run once; the output is committed; CI never runs this):

  chat_llama2/   Llama-2-chat layout: SentencePiece BPE (Prepend + Replace normalizer, byte
                 fallback), TemplateProcessing "<s> $A", tokenizer_config.json with
                 add_bos_token true and the real Llama-2-chat template
  chat_mistral/  Mistral-7B-Instruct-v0.3 layout: Metaspace(prepend_scheme first, split
                 false), [INST] / [/INST] as added tokens, the real v0.3 template
  chat_qwen25/   Qwen2.5-Instruct layout: NFC, Qwen2 regex split + ByteLevel, ChatML added
                 tokens, ByteLevel post-processor, the real Qwen2.5 template
  chat_unknown/  a template of no family t2 knows (Gemma-style turns)
  post_bos_eos/  TemplateProcessing "<s> $A </s>" (no tokenizer_config.json)
  post_none/     TemplateProcessing "$A"
  post_bert/     BertProcessing: refused
  post_two/      TemplateProcessing "<s> <s> $A": refused
  config_no_bos/ TemplateProcessing "<s> $A", add_bos_token false: nothing added
  config_eos/    no post-processor, add_bos_token true and add_eos_token true
  config_bad_bos/ add_bos_token true, bos_token "<bos>" which the vocabulary lacks

The chat templates are the models' own texts (tokenizer_config.json "chat_template"):
  Llama-2-chat: meta-llama/Llama-2-7b-chat-hf
  Mistral:      mistralai/Mistral-7B-Instruct-v0.3 (as released, with the tool-call parts)
  Qwen2.5:      Qwen/Qwen2.5-7B-Instruct
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "data", "tokenizers")
SPACE = "\u2581"

LLAMA2_TEMPLATE = (
    "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}"
    "{% set system_message = messages[0]['content'] %}{% else %}"
    "{% set loop_messages = messages %}{% set system_message = false %}{% endif %}"
    "{% for message in loop_messages %}"
    "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}"
    "{% endif %}{% if loop.index0 == 0 and system_message != false %}"
    r"{% set content = '<<SYS>>\n' + system_message + '\n<</SYS>>\n\n' + message['content'] %}"
    "{% else %}{% set content = message['content'] %}{% endif %}"
    "{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}"
    "{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}"
    "{% endif %}{% endfor %}")

MISTRAL_V03_TEMPLATE = r'''{%- if messages[0]["role"] == "system" %}
    {%- set system_message = messages[0]["content"] %}
    {%- set loop_messages = messages[1:] %}
{%- else %}
    {%- set loop_messages = messages %}
{%- endif %}
{%- if not tools is defined %}
    {%- set tools = none %}
{%- endif %}
{%- set user_messages = loop_messages | selectattr("role", "equalto", "user") | list %}

{#- This block checks for alternating user/assistant messages, skipping tool calling messages #}
{%- set ns = namespace() %}
{%- set ns.index = 0 %}
{%- for message in loop_messages %}
    {%- if not (message.role == "tool" or message.role == "tool_results" or (message.tool_calls is defined and message.tool_calls is not none)) %}
        {%- if (message["role"] == "user") != (ns.index % 2 == 0) %}
            {{- raise_exception("After the optional system message, conversation roles must alternate user/assistant/user/assistant/...") }}
        {%- endif %}
        {%- set ns.index = ns.index + 1 %}
    {%- endif %}
{%- endfor %}

{{- bos_token }}
{%- for message in loop_messages %}
    {%- if message["role"] == "user" %}
        {%- if tools is not none and (message == user_messages[-1]) %}
            {{- "[AVAILABLE_TOOLS] [" }}
            {%- for tool in tools %}
                {%- set tool = tool.function %}
                {{- '{"type": "function", "function": {' }}
                {%- for key, val in tool.items() if key != "return" %}
                    {%- if val is string %}
                        {{- '"' + key + '": "' + val + '"' }}
                    {%- else %}
                        {{- '"' + key + '": ' + val|tojson }}
                    {%- endif %}
                    {%- if not loop.last %}
                        {{- ", " }}
                    {%- endif %}
                {%- endfor %}
                {{- "}}" }}
                {%- if not loop.last %}
                    {{- ", " }}
                {%- else %}
                    {{- "]" }}
                {%- endif %}
            {%- endfor %}
            {{- "[/AVAILABLE_TOOLS]" }}
            {%- endif %}
        {%- if loop.last and system_message is defined %}
            {{- "[INST] " + system_message + "\n\n" + message["content"] + "[/INST]" }}
        {%- else %}
            {{- "[INST] " + message["content"] + "[/INST]" }}
        {%- endif %}
    {%- elif message.tool_calls is defined and message.tool_calls is not none %}
        {{- "[TOOL_CALLS] [" }}
        {%- for tool_call in message.tool_calls %}
            {%- set out = tool_call.function|tojson %}
            {{- out[:-1] }}
            {%- if not tool_call.id is defined or tool_call.id|length != 9 %}
                {{- raise_exception("Tool call IDs should be alphanumeric strings with length 9!") }}
            {%- endif %}
            {{- ', "id": "' + tool_call.id + '"}' }}
            {%- if not loop.last %}
                {{- ", " }}
            {%- else %}
                {{- "]" + eos_token }}
            {%- endif %}
        {%- endfor %}
    {%- elif message["role"] == "assistant" %}
        {{- " " + message["content"]|trim + eos_token}}
    {%- elif message["role"] == "tool_results" or message["role"] == "tool" %}
        {%- if message.content is defined and message.content.content is defined %}
            {%- set content = message.content.content %}
        {%- else %}
            {%- set content = message.content %}
        {%- endif %}
        {{- '[TOOL_RESULTS] {"content": ' + content|string + ", " }}
        {%- if not message.tool_call_id is defined or message.tool_call_id|length != 9 %}
            {{- raise_exception("Tool call IDs should be alphanumeric strings with length 9!") }}
        {%- endif %}
        {{- '"call_id": "' + message.tool_call_id + '"}[/TOOL_RESULTS]' }}
    {%- else %}
        {{- raise_exception("Only user and assistant roles are supported, with the exception of an initial optional system message!") }}
    {%- endif %}
{%- endfor %}
'''

QWEN25_TEMPLATE = r'''{%- if tools %}
    {{- '<|im_start|>system\n' }}
    {%- if messages[0]['role'] == 'system' %}
        {{- messages[0]['content'] }}
    {%- else %}
        {{- 'You are Qwen, created by Alibaba Cloud. You are a helpful assistant.' }}
    {%- endif %}
    {{- "\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\nYou are provided with function signatures within <tools></tools> XML tags:\n<tools>" }}
    {%- for tool in tools %}
        {{- "\n" }}
        {{- tool | tojson }}
    {%- endfor %}
    {{- "\n</tools>\n\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call><|im_end|>\n" }}
{%- else %}
    {%- if messages[0]['role'] == 'system' %}
        {{- '<|im_start|>system\n' + messages[0]['content'] + '<|im_end|>\n' }}
    {%- else %}
        {{- '<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n' }}
    {%- endif %}
{%- endif %}
{%- for message in messages %}
    {%- if (message.role == "user") or (message.role == "system" and not loop.first) or (message.role == "assistant" and not message.tool_calls) %}
        {{- '<|im_start|>' + message.role + '\n' + message.content + '<|im_end|>' + '\n' }}
    {%- elif message.role == "assistant" %}
        {{- '<|im_start|>' + message.role }}
        {%- if message.content %}
            {{- '\n' + message.content }}
        {%- endif %}
        {%- for tool_call in message.tool_calls %}
            {%- if tool_call.function is defined %}
                {%- set tool_call = tool_call.function %}
            {%- endif %}
            {{- '\n<tool_call>\n{"name": "' }}
            {{- tool_call.name }}
            {{- '", "arguments": ' }}
            {{- tool_call.arguments | tojson }}
            {{- '}\n</tool_call>' }}
        {%- endfor %}
        {{- '<|im_end|>\n' }}
    {%- elif message.role == "tool" %}
        {%- if (loop.index0 == 0) or (messages[loop.index0 - 1].role != "tool") %}
            {{- '<|im_start|>user' }}
        {%- endif %}
        {{- '\n<tool_response>\n' }}
        {{- message.content }}
        {{- '\n</tool_response>' }}
        {%- if loop.last or (messages[loop.index0 + 1].role != "tool") %}
            {{- '<|im_end|>\n' }}
        {%- endif %}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\n' }}
{%- endif %}
'''

UNKNOWN_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}{{ '<start_of_turn>' + message['role'] + "
    "'\\n' + message['content'] | trim + '<end_of_turn>\\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{'<start_of_turn>model\\n'}}{% endif %}")

QWEN2_REGEX = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+"
               r"[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")

# Words the fixtures' merges build, left to right (so that BPE has work to do); the
# characters they use are in the vocabulary, everything else goes through byte fallback.
SP_WORDS = [SPACE + "[", "INST", "]", "<<", "SYS", ">>", "<</", SPACE + "You", SPACE + "are",
            SPACE + "a", SPACE + "terse", SPACE + "assistant", "What", SPACE + "is",
            SPACE + "2", SPACE + "4", SPACE + "And", SPACE + "3", "You", "And", "hello",
            SPACE + "hello", SPACE + "world"]
SP_CHARS = sorted(set("".join(SP_WORDS)) | set("abcdefghijklmnopqrstuvwxyz"
                                                "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789[]<>/?.+,!'"))
BL_WORDS = ["You", " are", " a", " terse", " assistant", "What", " is", " And", "system",
            "user", "assistant", "hello", " world", "\n\n"]


def byte_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(0xa1, 0xac + 1)) + \
        list(range(0xae, 0xff + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


def added(tok_id, content):
    return {"id": tok_id, "content": content, "single_word": False, "lstrip": False,
            "rstrip": False, "normalized": False, "special": True}


def template(before, after, ids):
    single = [{"SpecialToken": {"id": t, "type_id": 0}} for t in before]
    single.append({"Sequence": {"id": "A", "type_id": 0}})
    single += [{"SpecialToken": {"id": t, "type_id": 0}} for t in after]
    return {"type": "TemplateProcessing", "single": single, "pair": [],
            "special_tokens": {t: {"id": t, "ids": [ids[t]], "tokens": [t]}
                               for t in before + after}}


def merges_for(words, vocab):
    """Merges building each word left to right; adds the merged tokens to vocab."""
    merges = []
    for w in words:
        for k in range(2, len(w) + 1):
            left, right = w[:k - 1], w[k - 1]
            if w[:k] in vocab:
                continue
            vocab[w[:k]] = len(vocab)
            merges.append([left, right])
    return merges


def sentencepiece(specials, metaspace):
    """A SentencePiece-style BPE tokenizer.json: specials first, then <0x00>..<0xFF>, then
    characters, then merged tokens."""
    vocab = {}
    for s in specials:
        vocab[s] = len(vocab)
    for b in range(256):
        vocab["<0x%02X>" % b] = len(vocab)
    for c in [SPACE] + [c for c in SP_CHARS if c != SPACE]:
        vocab[c] = len(vocab)
    merges = merges_for(SP_WORDS, vocab)
    tok = {"version": "1.0", "truncation": None, "padding": None,
           "added_tokens": [added(vocab[s], s) for s in specials],
           "normalizer": None, "pre_tokenizer": None, "post_processor": None,
           "decoder": None,
           "model": {"type": "BPE", "dropout": None, "unk_token": "<unk>",
                     "continuing_subword_prefix": None, "end_of_word_suffix": None,
                     "fuse_unk": True, "byte_fallback": True, "ignore_merges": False,
                     "vocab": vocab, "merges": merges}}
    if metaspace:
        tok["pre_tokenizer"] = {"type": "Metaspace", "replacement": SPACE,
                                "prepend_scheme": "first", "split": False}
    else:
        tok["normalizer"] = {"type": "Sequence", "normalizers": [
            {"type": "Prepend", "prepend": SPACE},
            {"type": "Replace", "pattern": {"String": " "}, "content": SPACE}]}
    return tok


def byte_level(specials):
    """A Qwen2-style byte-level BPE tokenizer.json: byte b is id b, then merged tokens, then
    the added tokens."""
    b2u = byte_to_unicode()
    vocab = {b2u[b]: b for b in range(256)}
    words = ["".join(b2u[b] for b in w.encode()) for w in BL_WORDS]
    merges = merges_for(words, vocab)
    for s in specials:
        vocab_id = len(vocab)
        vocab[s] = vocab_id
    byte_level_step = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False,
                       "use_regex": False}
    return {"version": "1.0", "truncation": None, "padding": None,
            "added_tokens": [added(vocab[s], s) for s in specials],
            "normalizer": {"type": "NFC"},
            "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
                {"type": "Split", "pattern": {"Regex": QWEN2_REGEX}, "behavior": "Isolated",
                 "invert": False}, byte_level_step]},
            "post_processor": byte_level_step, "decoder": byte_level_step,
            "model": {"type": "BPE", "dropout": None, "unk_token": None,
                      "continuing_subword_prefix": "", "end_of_word_suffix": "",
                      "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                      "vocab": vocab, "merges": merges}}


def write(name, tok, config=None):
    folder = os.path.join(OUT, name)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tok, f, ensure_ascii=False, indent=1)
        f.write("\n")
    if config is not None:
        with open(os.path.join(folder, "tokenizer_config.json"), "w", encoding="utf-8") as f:
            json.dump(config, f, ensure_ascii=False, indent=2)
            f.write("\n")


def added_token_object(content):
    """tokenizer_config.json's AddedToken form of a special token (as Llama 2's files)."""
    return {"__type": "AddedToken", "content": content, "lstrip": False, "normalized": False,
            "rstrip": False, "single_word": False}


def main():
    llama_specials = ["<unk>", "<s>", "</s>"]
    tok = sentencepiece(llama_specials, metaspace=False)
    ids = tok["model"]["vocab"]
    tok["post_processor"] = template(["<s>"], [], ids)
    write("chat_llama2", tok, {
        "add_bos_token": True, "add_eos_token": False,
        "bos_token": added_token_object("<s>"), "eos_token": added_token_object("</s>"),
        "unk_token": added_token_object("<unk>"), "legacy": False,
        "chat_template": LLAMA2_TEMPLATE, "tokenizer_class": "LlamaTokenizer"})

    tok = sentencepiece(llama_specials + ["[INST]", "[/INST]"], metaspace=True)
    tok["post_processor"] = template(["<s>"], [], tok["model"]["vocab"])
    write("chat_mistral", tok, {
        "add_bos_token": True, "add_eos_token": False, "bos_token": "<s>",
        "eos_token": "</s>", "unk_token": "<unk>", "chat_template": MISTRAL_V03_TEMPLATE,
        "tokenizer_class": "LlamaTokenizer"})

    tok = byte_level(["<|endoftext|>", "<|im_start|>", "<|im_end|>"])
    write("chat_qwen25", tok, {
        "add_bos_token": False, "add_prefix_space": False, "bos_token": None,
        "eos_token": "<|im_end|>", "pad_token": "<|endoftext|>", "unk_token": None,
        "chat_template": QWEN25_TEMPLATE, "tokenizer_class": "Qwen2Tokenizer"})

    tok = sentencepiece(llama_specials, metaspace=False)
    write("chat_unknown", tok, {"bos_token": "<s>", "eos_token": "</s>",
                                "chat_template": UNKNOWN_TEMPLATE})

    for name, before, after in [("post_bos_eos", ["<s>"], ["</s>"]), ("post_none", [], []),
                                ("post_two", ["<s>", "<s>"], [])]:
        tok = sentencepiece(llama_specials, metaspace=False)
        tok["post_processor"] = template(before, after, tok["model"]["vocab"])
        write(name, tok)
    tok = sentencepiece(llama_specials, metaspace=False)
    tok["post_processor"] = {"type": "BertProcessing", "sep": ["</s>", 2], "cls": ["<s>", 1]}
    write("post_bert", tok)

    tok = sentencepiece(llama_specials, metaspace=False)
    tok["post_processor"] = template(["<s>"], [], tok["model"]["vocab"])
    write("config_no_bos", tok, {"add_bos_token": False, "bos_token": "<s>"})
    tok = sentencepiece(llama_specials, metaspace=False)
    write("config_eos", tok, {"add_bos_token": True, "add_eos_token": True,
                              "bos_token": added_token_object("<s>"), "eos_token": "</s>"})
    write("config_bad_bos", tok, {"add_bos_token": True, "bos_token": "<bos>"})
    return 0


if __name__ == "__main__":
    sys.exit(main())
