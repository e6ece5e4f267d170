# Chat templates and special tokens as the model's files say (docs/tokenizer.md): golden ids
# against Hugging Face's apply_chat_template (tests/reference/chat_template_ids.py), BOS / EOS
# defaults and overrides, every bad input; and the command lines that use them (tokenize,
# generate, inspect) on the fixture folders of tests/data/tokenizers and small models.
t2_add_test(NAME chat_template SOURCES test_chat_template.c LABELS tokenizer TIMEOUT 60)

set(TOK_DATA ${PROJECT_SOURCE_DIR}/tests/data/tokenizers)
set(SHARED_TOK ${PROJECT_SOURCE_DIR}/../shared/data/tokenizers)

# t2 tokenize: BOS / EOS by default as the folder's files say
t2_add_cli_test(NAME tokenize_cli_default_bos LABELS tokenizer cli STDOUT "^1 259 379 389$"
  COMMAND ${T2_EXE} tokenize --model ${TOK_DATA}/chat_llama2 "hello world")
t2_add_cli_test(NAME tokenize_cli_default_bos_eos LABELS tokenizer cli STDOUT "^1 259 379 389 2$"
  COMMAND ${T2_EXE} tokenize --model ${TOK_DATA}/post_bos_eos "hello world")
t2_add_cli_test(NAME tokenize_cli_default_none LABELS tokenizer cli STDOUT "^259 379 389$"
  COMMAND ${T2_EXE} tokenize --model ${TOK_DATA}/post_none "hello world")
# tokenizer_config.json overrides the post-processor: add_bos_token false; true + EOS
t2_add_cli_test(NAME tokenize_cli_config_no_bos LABELS tokenizer cli STDOUT "^259 379 389$"
  COMMAND ${T2_EXE} tokenize --model ${TOK_DATA}/config_no_bos "hello world")
t2_add_cli_test(NAME tokenize_cli_config_eos LABELS tokenizer cli STDOUT "^1 259 379 389 2$"
  COMMAND ${T2_EXE} tokenize --model ${TOK_DATA}/config_eos "hello world")
# --tokenizer reads tokenizer.json alone (its template adds <s>; the config would remove it)
t2_add_cli_test(NAME tokenize_cli_file_alone LABELS tokenizer cli STDOUT "^1 259 379 389$"
  COMMAND ${T2_EXE} tokenize --tokenizer ${TOK_DATA}/config_no_bos/tokenizer.json "hello world")
t2_add_cli_test(NAME tokenize_cli_no_special LABELS tokenizer cli STDOUT "^259 379 389$"
  COMMAND ${T2_EXE} tokenize --model ${TOK_DATA}/post_bos_eos --no-special-tokens "hello world")
# --bos forces a BOS: never twice, and also with --no-special-tokens
t2_add_cli_test(NAME tokenize_cli_bos_once LABELS tokenizer cli STDOUT "^1 259 379 389$"
  COMMAND ${T2_EXE} tokenize --model ${TOK_DATA}/chat_llama2 --bos "hello world")
t2_add_cli_test(NAME tokenize_cli_bos_forced LABELS tokenizer cli STDOUT "^1 259 379 389$"
  COMMAND ${T2_EXE} tokenize --model ${TOK_DATA}/config_no_bos --no-special-tokens --bos
          "hello world")
t2_add_cli_test(NAME tokenize_cli_no_special_decode LABELS tokenizer cli EXIT 2
  STDERR "--no-special-tokens applies to encoding, not to --decode"
  COMMAND ${T2_EXE} tokenize --model ${TOK_DATA}/chat_llama2 --no-special-tokens --decode 1)
# the shared real tokenizers: GPT-2 and the first Llama 3 release add nothing (skip when
# ../shared/data is absent: the command then fails to open the file, so test it exists)
if(EXISTS ${SHARED_TOK}/llama3/tokenizer_config.json)
  t2_add_cli_test(NAME tokenize_cli_llama3_default LABELS tokenizer cli STDOUT "^15339 1917$"
    COMMAND ${T2_EXE} tokenize --model ${SHARED_TOK}/llama3 "hello world")
  t2_add_cli_test(NAME tokenize_cli_gpt2_default LABELS tokenizer cli STDOUT "^31373 995$"
    COMMAND ${T2_EXE} tokenize --model ${SHARED_TOK}/gpt2 "hello world")
endif()
# bad inputs: one line each, exit 1
t2_add_cli_test(NAME tokenize_cli_post_unsupported LABELS tokenizer cli EXIT 1
  STDERR "^t2 tokenize: error: .*post_bert/tokenizer.json: post_processor type 'BertProcessing' is not supported. expected TemplateProcessing, ByteLevel or a Sequence of them$"
  COMMAND ${T2_EXE} tokenize --model ${TOK_DATA}/post_bert "hello")
t2_add_cli_test(NAME tokenize_cli_post_two LABELS tokenizer cli EXIT 1
  STDERR "post_two/tokenizer.json: post_processor TemplateProcessing puts several tokens before \\$A. expected"
  COMMAND ${T2_EXE} tokenize --model ${TOK_DATA}/post_two "hello")
t2_add_cli_test(NAME tokenize_cli_bad_bos LABELS tokenizer cli EXIT 1
  STDERR "config_bad_bos/tokenizer_config.json: add_bos_token is true but bos_token '<bos>' is not a token of tokenizer.json. expected a token of its vocabulary"
  COMMAND ${T2_EXE} tokenize --model ${TOK_DATA}/config_bad_bos "hello")

# Small models whose tokenizer files are the fixtures' (vocabulary 400 covers their ids);
# config.json's bos / eos ids are set to the fixture's <s> / </s> where it has them.
set(CT ${CMAKE_CURRENT_BINARY_DIR}/chat_template_models)
foreach(fixture chat_llama2 chat_qwen25 chat_unknown)
  if(fixture STREQUAL chat_qwen25)
    set(ids "s/256/256/")
  else()
    set(ids "s/\"bos_token_id\": 256/\"bos_token_id\": 1/\;s/\"eos_token_id\": 257/\"eos_token_id\": 2/")
  endif()
  t2_add_cli_test(NAME chat_template_model_${fixture} LABELS tokenizer cli TIMEOUT 60
    COMMAND sh -c "rm -rf \"$1\" && mkdir -p \"$1\" && \"$0\" new-model --out \"$1\" --hidden 32 --layers 1 --ffn 64 --heads 2 --kv-heads 1 --vocab 400 >/dev/null && cp \"$2\"/tokenizer.json \"$2\"/tokenizer_config.json \"$1\"/ && sed -i \"$3\" \"$1\"/config.json"
            ${T2_EXE} ${CT}/${fixture} ${TOK_DATA}/${fixture} "${ids}")
  set_tests_properties(chat_template_model_${fixture} PROPERTIES
    FIXTURES_SETUP chat_template_${fixture})
endforeach()
# generate: plain adds the BOS the files ask for (4 tokens), --no-special-tokens none (3),
# --bos never twice; auto on a ChatML template: the Qwen2.5 default system message and the
# generation prompt (the 65 ids of golden case chatml_user); --system replaces it (28 ids of
# chatml_single); an unknown template is refused under auto, a missing token under a name
function(t2_generate_test name fixture stderr)
  t2_add_cli_test(NAME generate_cli_${name} LABELS tokenizer cli TIMEOUT 60
    FIXTURES chat_template_${fixture} STDERR "${stderr}" ${ARGN})
endfunction()
t2_generate_test(plain_bos chat_llama2 "t2 generate: 4 prompt tokens"
  COMMAND ${T2_EXE} generate --model ${CT}/chat_llama2 --prompt "hello world" --max-new-tokens 2
          --verbose)
t2_generate_test(plain_no_special chat_llama2 "t2 generate: 3 prompt tokens"
  COMMAND ${T2_EXE} generate --model ${CT}/chat_llama2 --prompt "hello world" --max-new-tokens 2
          --no-special-tokens --verbose)
t2_generate_test(plain_bos_once chat_llama2 "t2 generate: 4 prompt tokens"
  COMMAND ${T2_EXE} generate --model ${CT}/chat_llama2 --prompt "hello world" --max-new-tokens 2
          --bos --verbose)
t2_generate_test(auto_chatml chat_qwen25 "t2 generate: 65 prompt tokens"
  COMMAND ${T2_EXE} generate --model ${CT}/chat_qwen25 --prompt "What is 2+2?" --format auto
          --max-new-tokens 2 --verbose)
t2_generate_test(chatml_system chat_qwen25 "t2 generate: 28 prompt tokens"
  COMMAND ${T2_EXE} generate --model ${CT}/chat_qwen25 --prompt "What is 2+2?" --format chatml
          --system " You are a terse assistant. " --max-new-tokens 2 --verbose)
t2_generate_test(auto_unknown chat_unknown "chat_template is not one t2 recognises" EXIT 1
  COMMAND ${T2_EXE} generate --model ${CT}/chat_unknown --prompt "hi" --format auto)
t2_generate_test(format_missing_token chat_llama2
  "prompt format 'chatml' needs the token '<\\|im_start\\|>', which the tokenizer does not have" EXIT 1
  COMMAND ${T2_EXE} generate --model ${CT}/chat_llama2 --prompt "hi" --format chatml)
t2_add_cli_test(NAME generate_cli_format_unknown LABELS tokenizer cli EXIT 2
  STDERR "--format: 'alpaca' is not known. expected auto, plain, llama3, llama2, mistral or chatml"
  COMMAND ${T2_EXE} generate --model ${CT}/chat_llama2 --prompt "hi" --format alpaca)
# inspect: the chat family and what a plain encoding adds
t2_add_cli_test(NAME inspect_chat_llama2 LABELS tokenizer cli TIMEOUT 60
  FIXTURES chat_template_chat_llama2
  STDOUT "plain encoding adds +BOS '<s>' \\(1\\), no EOS\n +chat template +llama2"
  COMMAND ${T2_EXE} inspect ${CT}/chat_llama2)
t2_add_cli_test(NAME inspect_chat_qwen25 LABELS tokenizer cli TIMEOUT 60
  FIXTURES chat_template_chat_qwen25
  STDOUT "plain encoding adds +no BOS, no EOS\n +chat template +chatml"
  COMMAND ${T2_EXE} inspect ${CT}/chat_qwen25)
t2_add_cli_test(NAME inspect_chat_unknown LABELS tokenizer cli TIMEOUT 60
  FIXTURES chat_template_chat_unknown
  STDOUT "chat template +not recognised \\(.*chat_template is not one t2 recognises"
  COMMAND ${T2_EXE} inspect ${CT}/chat_unknown)
