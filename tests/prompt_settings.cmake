# The prompt settings (prompt_format, add_special_tokens, system_prompt, prompt_template) of
# the commands that put task prompts to a model (docs/tokenizer.md): the prompt token counts
# `t2 task eval` reports are those of the golden ids of tests/reference/golden/
# chat_template_ids.json (chatml_user 65, chatml_single 28) or of the fixture's plain encoding
# (tests/chat_template.cmake: "hello world" is 3 ids, 4 with the BOS the files ask for); and
# each command refuses a chat template t2 does not recognise under auto, before any work.
# The model folders are those of tests/chat_template.cmake (its fixtures).
set(PS_TASKS ${PROJECT_SOURCE_DIR}/tests/data/tasks)
function(t2_prompt_eval_test name fixture stdout)
  t2_add_cli_test(NAME prompt_settings_${name} LABELS tokenizer cli TIMEOUT 60
    FIXTURES chat_template_${fixture} STDOUT "${stdout}"
    COMMAND ${T2_EXE} task eval --task qa --model ${CT}/${fixture} -n 1 --max-new-tokens 1
            --prompt-template "{question}" ${ARGN})
endfunction()
t2_prompt_eval_test(auto_chatml chat_qwen25 "tokens: +65 prompt" --data ${PS_TASKS}/qa_chat.jsonl)
t2_prompt_eval_test(system chat_qwen25 "tokens: +28 prompt" --data ${PS_TASKS}/qa_chat.jsonl
  --system-prompt " You are a terse assistant. ")
t2_prompt_eval_test(plain_bos chat_llama2 "tokens: +4 prompt" --data ${PS_TASKS}/qa_hello.jsonl
  --prompt-format plain)
t2_prompt_eval_test(plain_no_special chat_llama2 "tokens: +3 prompt"
  --data ${PS_TASKS}/qa_hello.jsonl --prompt-format plain --no-add-special-tokens)

set(PS_UNKNOWN "chat_unknown/tokenizer_config.json: chat_template is not one t2 recognises")
t2_add_cli_test(NAME prompt_settings_task_eval_unknown LABELS tokenizer cli EXIT 1 TIMEOUT 60
  FIXTURES chat_template_chat_unknown STDERR "${PS_UNKNOWN}"
  COMMAND ${T2_EXE} task eval --task math --model ${CT}/chat_unknown -n 1)
t2_add_cli_test(NAME prompt_settings_train_unknown LABELS tokenizer cli EXIT 1 TIMEOUT 60
  FIXTURES chat_template_chat_unknown STDERR "${PS_UNKNOWN}"
  COMMAND ${T2_EXE} train --model ${CT}/chat_unknown --task math --method lora --steps 1
          --batch 2 --chunk 2 --val-samples 1 --out ${CMAKE_CURRENT_BINARY_DIR}/ps_unknown.expert)
t2_add_cli_test(NAME prompt_settings_eval_unknown LABELS tokenizer cli EXIT 1 TIMEOUT 60
  FIXTURES chat_template_chat_unknown STDERR "${PS_UNKNOWN}"
  COMMAND ${T2_EXE} eval --model ${CT}/chat_unknown --tasks math --n 1)
t2_add_cli_test(NAME prompt_settings_demo_unknown LABELS tokenizer cli EXIT 1 TIMEOUT 60
  FIXTURES chat_template_chat_unknown STDERR "${PS_UNKNOWN}"
  COMMAND ${T2_EXE} demo --model ${CT}/chat_unknown --quick
          --out ${CMAKE_CURRENT_BINARY_DIR}/ps_demo_unknown)
# a named format is accepted where auto is refused, and an unknown name is refused
t2_add_cli_test(NAME prompt_settings_eval_named LABELS tokenizer cli TIMEOUT 60
  FIXTURES chat_template_chat_unknown STDOUT "\\| math@3 \\| base \\|"
  COMMAND ${T2_EXE} eval --model ${CT}/chat_unknown --tasks math --n 1 --max-new-tokens 1
          --prompt-format plain)
t2_add_cli_test(NAME prompt_settings_format_unknown LABELS tokenizer cli EXIT 1 TIMEOUT 60
  FIXTURES chat_template_chat_llama2
  STDERR "prompt_format: 'alpaca' is not known. expected auto, plain, llama3, llama2, mistral or chatml"
  COMMAND ${T2_EXE} task eval --task math --model ${CT}/chat_llama2 -n 1 --prompt-format alpaca)

# where completions end: the task's terminator in the plain format, end-of-turn in a chat one
t2_add_test(NAME prompt_stops SOURCES test_prompt_stops.c LABELS tokenizer tasks TIMEOUT 60)
