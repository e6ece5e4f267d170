# export: `t2 export --format hf` and `--format gguf` (cmd/export_model.c, model/hf_export.h,
# model/gguf_export.h, docs/export.md): a model with an expert merged, as a Hugging Face
# folder (checked bitwise against the expert applied in memory, logits within 1e-4, the same
# greedy text from `t2 generate` and `t2 task eval`) and as a GGUF file (read back by the
# tests' own reader, tests/gguf_reader.c: every key, tensor name, shape, type and byte).
# The inputs, written once into X: the default model's store, four experts far from their
# initial values (tests/test_export_hf.c make), a bundle, a qwen2 and a tied mistral BF16
# model, and tokenizer variants (tests/test_export_gguf.c variant).
set(X ${CMAKE_CURRENT_BINARY_DIR}/export_inputs)
set(XM ${PROJECT_SOURCE_DIR}/assets/default-model)
foreach(tool test_export_hf test_export_gguf)
  add_executable(${tool} ${tool}.c check.c)
  target_compile_options(${tool} PRIVATE ${T2_WARNINGS})
  target_include_directories(${tool} PRIVATE ${PROJECT_SOURCE_DIR}/tests)
  target_link_libraries(${tool} PRIVATE t2_rl t2_model t2_linalg t2_base t2_proto)
endforeach()
target_sources(test_export_gguf PRIVATE gguf_reader.c)
set(HF $<TARGET_FILE:test_export_hf>)
set(GG $<TARGET_FILE:test_export_gguf>)

t2_add_cli_test(NAME export_inputs LABELS export TIMEOUT 120 STDOUT "^experts written to"
  COMMAND sh -c "rm -rf ${X} && mkdir -p ${X} && \
${T2_EXE} decompose --model ${XM} --out ${X}/S 2>/dev/null && \
${HF} make ${X} ${XM} ${X}/S && \
${T2_EXE} bundle create --out ${X}/b.t2b ${X}/svf.expert ${X}/code.expert >/dev/null && \
${T2_EXE} new-model --out ${X}/qwen2 --model-type qwen2 --hidden 64 --layers 2 --heads 4 \
--kv-heads 2 --ffn 96 --seed 3 2>/dev/null && \
${T2_EXE} new-model --out ${X}/mistral --model-type mistral --hidden 64 --layers 2 --heads 2 \
--kv-heads 1 --ffn 96 --tie --dtype BF16 --seed 4 2>/dev/null && \
${GG} variant ${X}/llama3-pre ${XM} llama3 && ${GG} variant ${X}/qwen2-pre ${XM} qwen2 && \
${GG} variant ${X}/other-pre ${XM} unknown && ${GG} variant ${X}/rope ${XM} rope")
set_tests_properties(export_inputs PROPERTIES FIXTURES_SETUP export_inputs)

# t2_export_test(name stdout-regex shell-command): one export and its check.
function(t2_export_test name stdout command)
  t2_add_cli_test(NAME export_${name} LABELS export TIMEOUT 60 STDOUT "${stdout}"
    FIXTURES export_inputs COMMAND sh -c "${command}")
endfunction()
set(EXPORT ${T2_EXE} export --model ${XM} --store ${X}/S) # a command line's words
string(REPLACE ";" " " EXPORT_SH "${EXPORT}")             # the same inside sh -c

# Hugging Face folders: F32 exports equal the expert applied in memory bit for bit (every
# method: svf sigmoid renormalised, svf linear, lora; a bundle's member by name; sharded).
foreach(expert svf linear lora)
  t2_export_test(hf_${expert} "greedy agreement 96/96 tokens"
    "rm -rf ${X}/hf-${expert} && ${EXPORT_SH} --format hf --expert ${X}/${expert}.expert \
--out ${X}/hf-${expert} && ${HF} check ${XM} ${X}/S ${X}/${expert}.expert ${X}/hf-${expert} F32")
endforeach()
t2_export_test(hf_bundle "greedy agreement 96/96 tokens"
  "rm -rf ${X}/hf-code && ${EXPORT_SH} --format hf --bundle ${X}/b.t2b --name code \
--out ${X}/hf-code 2>&1 | grep -q \"expert 'code' merged\" && \
${HF} check ${XM} ${X}/S ${X}/code.expert ${X}/hf-code F32")
t2_export_test(hf_sharded "index: [0-9]+ tensors mapped, total_size 6696192"
  "rm -rf ${X}/hf-shards && ${EXPORT_SH} --format hf --expert ${X}/svf.expert --shard-size 1 \
--out ${X}/hf-shards && ls ${X}/hf-shards | grep -q '^model-00008-of-00008.safetensors$' && \
! test -e ${X}/hf-shards/model.safetensors && \
${HF} check ${XM} ${X}/S ${X}/svf.expert ${X}/hf-shards F32")
# The folder is complete: config (torch_dtype as written), generation config, tokenizer files.
t2_export_test(hf_files "^bfloat16 256 257 ok$"
  "rm -rf ${X}/hf-files && ${EXPORT_SH} --format hf --expert ${X}/svf.expert --dtype BF16 \
--out ${X}/hf-files && cmp ${XM}/tokenizer.json ${X}/hf-files/tokenizer.json && \
cmp ${XM}/tokenizer_config.json ${X}/hf-files/tokenizer_config.json && \
printf '%s %s %s ok\\n' \
\"$(grep -o '\"torch_dtype\": \"[a-z0-9]*\"' ${X}/hf-files/config.json | cut -d'\"' -f4)\" \
\"$(grep -o '\"bos_token_id\": [0-9]*' ${X}/hf-files/generation_config.json | cut -d' ' -f2)\" \
\"$(grep -o '\"eos_token_id\": [0-9]*' ${X}/hf-files/generation_config.json | cut -d' ' -f2)\"")
# BF16 and F16: every tensor is the F32 merge rounded once; the logit differences and the
# greedy agreement are printed (docs/export.md quotes them).
foreach(dtype BF16 F16)
  t2_export_test(hf_${dtype} "logits \\(${dtype} export"
    "rm -rf ${X}/hf-${dtype} && ${EXPORT_SH} --format hf --expert ${X}/svf.expert --dtype ${dtype} \
--out ${X}/hf-${dtype} && ${HF} check ${XM} ${X}/S ${X}/svf.expert ${X}/hf-${dtype} ${dtype}")
endforeach()
# The base model alone, converted to BF16; a BF16 model keeps BF16 by default.
t2_export_test(hf_base "tensors: 39, [0-9]+ values compared bitwise, 0 differ"
  "rm -rf ${X}/hf-base && ${T2_EXE} export --format hf --model ${XM} --dtype BF16 \
--out ${X}/hf-base && ${HF} check ${XM} - - ${X}/hf-base BF16")
t2_export_test(hf_keeps_bf16 "tensors: [0-9]+, [0-9]+ values compared bitwise, 0 differ"
  "rm -rf ${X}/hf-mistral && ${T2_EXE} export --format hf --model ${X}/mistral \
--out ${X}/hf-mistral 2>&1 | grep -q '(hf, BF16, the base model)' && \
${HF} check ${X}/mistral - - ${X}/hf-mistral BF16")
# A BF16 model widened to F32 or narrowed to F16 on the way out (the writer converts a chunk
# at a time from the mapped BF16 file).
foreach(dtype F32 F16)
  t2_export_test(hf_bf16_to_${dtype} "tensors: [0-9]+, [0-9]+ values compared bitwise, 0 differ"
    "rm -rf ${X}/hf-mistral-${dtype} && ${T2_EXE} export --format hf --model ${X}/mistral \
--dtype ${dtype} --out ${X}/hf-mistral-${dtype} && \
${HF} check ${X}/mistral - - ${X}/hf-mistral-${dtype} ${dtype}")
endforeach()
# `t2 generate` and `t2 task eval` on the folder give the text of the expert applied at run
# time (and the expert changes it: the base model's text differs).
t2_export_test(hf_generate "^same text, not the base model's$"
  "rm -rf ${X}/hf-gen && ${EXPORT_SH} --format hf --expert ${X}/svf.expert --out ${X}/hf-gen && \
a=\$(${T2_EXE} generate --model ${X}/hf-gen --prompt 'Q: 12+7=' --max-new-tokens 32) && \
b=\$(${HF} greedy ${XM} ${X}/S ${X}/svf.expert 'Q: 12+7=' 32) && \
c=\$(${T2_EXE} generate --model ${XM} --prompt 'Q: 12+7=' --max-new-tokens 32) && \
test -n \"\$a\" && test \"\$a\" = \"\$b\" && test \"\$a\" != \"\$c\" && \
echo \"same text, not the base model's\"")
t2_export_test(hf_task_eval "^same predictions$"
  "rm -rf ${X}/hf-eval && ${EXPORT_SH} --format hf --expert ${X}/lora.expert --out ${X}/hf-eval && \
${T2_EXE} task eval --task math -n 6 --max-new-tokens 24 --model ${XM} --expert ${X}/lora.expert \
--predictions-out ${X}/eval-a.jsonl >/dev/null && \
${T2_EXE} task eval --task math -n 6 --max-new-tokens 24 --model ${X}/hf-eval \
--predictions-out ${X}/eval-b.jsonl >/dev/null && cmp ${X}/eval-a.jsonl ${X}/eval-b.jsonl && \
echo 'same predictions'")

# GGUF: read back by the tests' reader, every key and byte checked.
t2_export_test(gguf_base "tensors: 39, [0-9]+ values compared bitwise, 0 differ"
  "${T2_EXE} export --format gguf --model ${XM} --out ${X}/base.gguf && \
${GG} check ${X}/base.gguf ${XM} - - F32 gpt-2")
t2_export_test(gguf_svf "tensors: 39, [0-9]+ values compared bitwise, 0 differ"
  "${EXPORT_SH} --format gguf --expert ${X}/svf.expert --out ${X}/svf.gguf && \
${GG} check ${X}/svf.gguf ${XM} ${X}/S ${X}/svf.expert F32 gpt-2")
t2_export_test(gguf_lora_f16 "tensors: 39, [0-9]+ values compared bitwise, 0 differ"
  "${EXPORT_SH} --format gguf --expert ${X}/lora.expert --dtype F16 --out ${X}/lora.gguf && \
${GG} check ${X}/lora.gguf ${XM} ${X}/S ${X}/lora.expert F16 gpt-2")
t2_export_test(gguf_bundle_bf16 "tensors: 39, [0-9]+ values compared bitwise, 0 differ"
  "${EXPORT_SH} --format gguf --bundle ${X}/b.t2b --name math --dtype BF16 --out ${X}/b.gguf && \
${GG} check ${X}/b.gguf ${XM} ${X}/S ${X}/svf.expert BF16 gpt-2")
# qwen2 (biases, NEOX rope: no reordering) and a tied BF16 mistral (no output.weight).
t2_export_test(gguf_qwen2 "tensors: 27, [0-9]+ values compared bitwise, 0 differ"
  "${T2_EXE} export --format gguf --model ${X}/qwen2 --out ${X}/qwen2.gguf && \
${GG} check ${X}/qwen2.gguf ${X}/qwen2 - - F32 gpt-2")
t2_export_test(gguf_mistral_tied "tensors: 20, [0-9]+ values compared bitwise, 0 differ"
  "${T2_EXE} export --format gguf --model ${X}/mistral --out ${X}/mistral.gguf && \
${GG} check ${X}/mistral.gguf ${X}/mistral - - BF16 gpt-2")
# The pre-tokenizer named from the Split pattern; padding id and add_bos from the config.
t2_export_test(gguf_pre_llama3 "tensors: 39, [0-9]+ values compared bitwise, 0 differ"
  "${T2_EXE} export --format gguf --model ${X}/llama3-pre --out ${X}/llama3-pre.gguf && \
${GG} check ${X}/llama3-pre.gguf ${X}/llama3-pre - - F32 llama-bpe")
t2_export_test(gguf_pre_qwen2 "tensors: 39, [0-9]+ values compared bitwise, 0 differ"
  "${T2_EXE} export --format gguf --model ${X}/qwen2-pre --out ${X}/qwen2-pre.gguf && \
${GG} check ${X}/qwen2-pre.gguf ${X}/qwen2-pre - - F32 qwen2")
t2_export_test(gguf_rope_freqs "rope_freqs: 16 factors \\([1-9][0-9]* unscaled, [1-9][0-9]* smoothed, [1-9][0-9]* scaled\\)"
  "${T2_EXE} export --format gguf --model ${X}/rope --out ${X}/rope.gguf && \
${GG} check ${X}/rope.gguf ${X}/rope - - F32 gpt-2")

# Errors: one line, exit 1 (2 for usage), and nothing written.
function(t2_export_error name exit stderr)
  t2_add_cli_test(NAME export_error_${name} LABELS export TIMEOUT 30 EXIT ${exit}
    STDERR "${stderr}" FIXTURES export_inputs COMMAND ${ARGN})
endfunction()
t2_export_error(pre_unknown 1
  "^t2 export: error: .*tokenizer\\.json: pre-tokenizer pattern '.*' is not one llama\\.cpp names. expected the GPT-2, Llama-3 or Qwen2 pattern$"
  ${T2_EXE} export --format gguf --model ${X}/other-pre --out ${X}/never-pre.gguf)
t2_export_error(exists 1
  "^t2 export: error: .*export_inputs: already exists. expected a new folder name"
  ${EXPORT} --format hf --expert ${X}/svf.expert --out ${X})
t2_export_error(no_store 1 "svf\\.expert: an SVF expert needs the model's decomposition store"
  ${T2_EXE} export --format hf --model ${XM} --expert ${X}/svf.expert --out ${X}/never-a)
t2_export_error(other_model 1 "svf\\.expert: expert made for another base model"
  ${T2_EXE} export --format gguf --model ${PROJECT_SOURCE_DIR}/assets/seed2-model
  --store ${X}/S --expert ${X}/svf.expert --out ${X}/never-b.gguf)
t2_export_error(bundle_name 1
  "^t2 export: error: .*b\\.t2b: no expert 'nope'. expected one of math, code$"
  ${EXPORT} --format hf --bundle ${X}/b.t2b --name nope --out ${X}/never-c)
t2_export_error(bad_model 1 "^t2 export: error: .*nowhere"
  ${T2_EXE} export --format hf --model ${X}/nowhere --out ${X}/never-d)
t2_export_error(unwritable 1 "^t2 export: error: /nonexistent-t2-dir/m: cannot write: No such file"
  ${T2_EXE} export --format hf --model ${XM} --out /nonexistent-t2-dir/m)
t2_export_error(unwritable_gguf 1
  "^t2 export: error: /nonexistent-t2-dir/m\\.gguf: cannot write: No such file"
  ${T2_EXE} export --format gguf --model ${XM} --out /nonexistent-t2-dir/m.gguf)
t2_export_error(no_model 2 "--model DIR is required" ${T2_EXE} export --format hf --out x)
t2_export_error(no_out 2 "--out is required" ${T2_EXE} export --format gguf --model ${XM})
t2_export_error(both 2 "--expert and --bundle both given"
  ${EXPORT} --format hf --expert a --bundle b --name c --out x)
t2_export_error(bundle_no_name 2 "--bundle needs --name NAME"
  ${EXPORT} --format hf --bundle b --out x)
t2_export_error(name_alone 2 "--name is set without --bundle" ${EXPORT} --format hf --name c --out x)
t2_export_error(dtype 2 "--dtype: 'F64' is not a dtype t2 writes. expected F32, BF16 or F16"
  ${EXPORT} --format gguf --dtype F64 --out x)
t2_export_error(shard_zero 2 "--shard-size: '0'" ${EXPORT} --format hf --shard-size 0 --out x)
t2_export_error(shard_gguf 2 "--shard-size applies to --format hf only"
  ${EXPORT} --format gguf --shard-size 5 --out x)
t2_export_error(argument 2 "unexpected argument 'extra'" ${EXPORT} --format hf --out x extra)
# A disk that fills up half-way (base/file.h's fault hook): the error, and nothing at out.
t2_export_error(full_hf 1 "No space left on device"
  env T2_FAULT_WRITE_AFTER=2000000 ${EXPORT} --format hf --expert ${X}/svf.expert
  --out ${X}/never-full)
t2_export_error(full_gguf 1 "No space left on device"
  env T2_FAULT_WRITE_AFTER=2000000 ${EXPORT} --format gguf --expert ${X}/svf.expert
  --out ${X}/never-full.gguf)
# (the failed outputs are all named never*, and so are their temporary files and folders)
t2_add_cli_test(NAME export_nothing_left LABELS export TIMEOUT 30 FIXTURES export_inputs
  COMMAND sh -c "! ls -a ${X} | grep -E '^never'")
set_tests_properties(export_nothing_left PROPERTIES DEPENDS
  "export_error_pre_unknown;export_error_no_store;export_error_other_model;export_error_bundle_name;export_error_full_hf;export_error_full_gguf;export_error_bad_model")
