# expert: expert files and training checkpoints (rl/expert.h), the base-model fingerprint
# (model/fingerprint.h), and `t2 inspect` / `t2 export` on expert files (docs/formats.md,
# docs/cli.md).
t2_add_test(NAME expert_files SOURCES test_expert.c LABELS expert TIMEOUT 30)
t2_add_test(NAME expert_fingerprint SOURCES test_fingerprint.c model_fixture.c LABELS expert
  TIMEOUT 30)

# The inputs of the command-line tests, written by one fixture test into X (emptied first):
# svf.expert, lora.expert, truncated.expert, corrupt.expert and a text file (tests/expert_cli.c).
set(X ${CMAKE_CURRENT_BINARY_DIR}/expert_inputs)
t2_add_test(NAME expert_make_inputs SOURCES expert_cli.c bundle_fixture.c LABELS expert
  TIMEOUT 30 ARGS make ${X})
set_tests_properties(expert_make_inputs PROPERTIES FIXTURES_SETUP expert_inputs)
t2_add_cli_test(NAME expert_clean LABELS expert TIMEOUT 30 COMMAND sh -c "rm -rf ${X}")
set_tests_properties(expert_clean PROPERTIES FIXTURES_SETUP expert_inputs)
set_tests_properties(expert_make_inputs PROPERTIES DEPENDS expert_clean)

# t2_expert_cli_test(name exit stderr-regex stdout-regex args...)
function(t2_expert_cli_test name exit stderr stdout)
  t2_add_cli_test(NAME expert_cli_${name} LABELS expert TIMEOUT 30 EXIT ${exit}
    STDERR "${stderr}" STDOUT "${stdout}" FIXTURES expert_inputs COMMAND ${T2_EXE} ${ARGN})
endfunction()

# `t2 inspect` on an svf expert: the header, each target's statistics, the totals, the summary
# and the config.
t2_expert_cli_test(inspect_svf_header 0 "" "^expert: .*svf\\.expert$" inspect ${X}/svf.expert)
t2_expert_cli_test(inspect_svf_method 0 ""
  "^  method +svf \\(parametrization=sigmoid max_mult=2 renormalize=true\\)$"
  inspect ${X}/svf.expert)
t2_expert_cli_test(inspect_svf_fingerprint 0 "" "^  model fingerprint +0123456789abcdef$"
  inspect ${X}/svf.expert)
t2_expert_cli_test(inspect_svf_target0 0 ""
  "^  model\\.layers\\.0\\.mlp\\.up_proj\\.weight +\\[4, 6\\] +4 parameters +mean 1\\.25 +min 0\\.5 +max 2$"
  inspect ${X}/svf.expert)
t2_expert_cli_test(inspect_svf_target1 0 ""
  "^  model\\.layers\\.1\\.mlp\\.down_proj\\.weight +\\[6, 3\\] +3 parameters +mean 1 +min -1 +max 4$"
  inspect ${X}/svf.expert)
t2_expert_cli_test(inspect_svf_total 0 "" "^parameters: 7 trainable$" inspect ${X}/svf.expert)
t2_expert_cli_test(inspect_svf_summary 0 "" "^  best validation accuracy +0\\.7500 \\(200 samples\\)$"
  inspect ${X}/svf.expert)
t2_expert_cli_test(inspect_svf_config 0 "" "^  steps = 40.$" inspect ${X}/svf.expert)
# lora: the method's settings and the counts k (rows + cols); no task.
t2_expert_cli_test(inspect_lora_method 0 "" "^  method +lora \\(rank=2 alpha=16\\)$"
  inspect ${X}/lora.expert)
t2_expert_cli_test(inspect_lora_task 0 "" "^  task +\\(none\\)$" inspect ${X}/lora.expert)
t2_expert_cli_test(inspect_lora_target 0 ""
  "^  model\\.layers\\.0\\.self_attn\\.q_proj\\.weight +\\[8, 8\\] +32 parameters$"
  inspect ${X}/lora.expert)
t2_expert_cli_test(inspect_lora_total 0 "" "^parameters: 52 trainable$" inspect ${X}/lora.expert)
# Bad expert files: one line, exit 1.
t2_expert_cli_test(inspect_truncated 1
  "^t2 inspect: error: .*truncated\\.expert: not a t2 expert file \\([0-9]+ bytes that do not end in a checksum field: truncated, or not written by t2\\). expected a protobuf message ending in its checksum$"
  "" inspect ${X}/truncated.expert)
t2_expert_cli_test(inspect_corrupt 1 "corrupt\\.expert: not a t2 expert file \\(checksum " ""
  inspect ${X}/corrupt.expert)
t2_expert_cli_test(inspect_garbage 1
  "garbage: not a t2 expert file \\(29 bytes that do not end in a checksum field: truncated, or not written by t2\\). expected"
  "" inspect ${X}/garbage)
t2_expert_cli_test(inspect_missing 1 "nope\\.expert: cannot open: No such file" ""
  inspect ${X}/nope.expert)
t2_expert_cli_test(inspect_help 0 "" "PATH may also be an expert file" inspect --help)

# `t2 export`: each expert to safetensors, then its contents checked bitwise against the
# expert (tests/expert_cli.c) and shown by `t2 inspect`, also under a name without the
# .safetensors suffix (recognised by its header).
foreach(method svf lora)
  t2_expert_cli_test(export_${method} 0 "t2 export: wrote .*${method}\\.safetensors" ""
    export --format safetensors --out ${X}/${method}.safetensors ${X}/${method}.expert)
  set_tests_properties(expert_cli_export_${method} PROPERTIES FIXTURES_SETUP expert_exported)
  t2_add_cli_test(NAME expert_export_${method}_check LABELS expert TIMEOUT 30
    STDOUT "${method}\\.safetensors matches .*: [0-9]+ tensors" FIXTURES "expert_inputs;expert_exported"
    COMMAND $<TARGET_FILE:test_expert_make_inputs> check-export ${X}/${method}.expert
            ${X}/${method}.safetensors)
endforeach()
t2_add_cli_test(NAME expert_export_svf_inspect LABELS expert TIMEOUT 30
  FIXTURES "expert_inputs;expert_exported"
  STDOUT "^  model\\.layers\\.1\\.mlp\\.down_proj\\.weight +F32 +\\[3\\]$"
  COMMAND ${T2_EXE} inspect ${X}/svf.safetensors)
t2_add_cli_test(NAME expert_export_lora_inspect LABELS expert TIMEOUT 30
  FIXTURES "expert_inputs;expert_exported"
  STDOUT "^  model\\.layers\\.0\\.mlp\\.up_proj\\.lora_B\\.weight +F32 +\\[4, 2\\]$"
  COMMAND sh -c "cp ${X}/lora.safetensors ${X}/lora-export && ${T2_EXE} inspect ${X}/lora-export")
t2_add_cli_test(NAME expert_export_metadata LABELS expert TIMEOUT 30
  FIXTURES "expert_inputs;expert_exported"
  STDOUT "^metadata: options = parametrization=sigmoid max_mult=2 renormalize=true$"
  COMMAND ${T2_EXE} inspect ${X}/svf.safetensors)
# Errors: a bad expert, an unknown format, an unwritable output (exit 1, nothing written);
# usage errors (exit 2).
t2_expert_cli_test(export_corrupt 1
  "^t2 export: error: .*corrupt\\.expert: not a t2 expert file \\(checksum .*. expected" ""
  export --out ${X}/corrupt.safetensors ${X}/corrupt.expert)
t2_expert_cli_test(export_format 1
  "^t2 export: error: --format: 'onnx' is not a known format. expected safetensors, hf, gguf, peft or expert$" ""
  export --format onnx --out ${X}/x.onnx ${X}/svf.expert)
t2_expert_cli_test(export_unwritable 1
  "^t2 export: error: /nonexistent-t2-dir/x\\.safetensors: cannot write: No such file or directory$"
  "" export --out /nonexistent-t2-dir/x.safetensors ${X}/svf.expert)
t2_expert_cli_test(export_no_out 2 "--out FILE is required" "" export ${X}/svf.expert)
t2_expert_cli_test(export_no_expert 2 "expected the EXPERT file to export" ""
  export --out ${X}/x.safetensors)
t2_expert_cli_test(export_two_experts 2 "unexpected argument '.*lora\\.expert'. expected one EXPERT"
  "" export --out ${X}/x.safetensors ${X}/svf.expert ${X}/lora.expert)
t2_expert_cli_test(export_unknown_option 2 "unknown option '--bogus'" "" export --bogus)
t2_expert_cli_test(export_help 0 "" "^usage: t2 export \\[--format safetensors\\] --out FILE EXPERT$"
  export --help)
t2_add_cli_test(NAME expert_export_nothing_left LABELS expert TIMEOUT 30
  FIXTURES expert_inputs
  COMMAND sh -c "! ls ${X} | grep -q -E '^(corrupt\\.safetensors|x\\.onnx)|\\.tmp\\.'")
set_tests_properties(expert_export_nothing_left PROPERTIES DEPENDS
  "expert_cli_export_corrupt;expert_cli_export_format")
