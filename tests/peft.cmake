# peft: LoRA experts as PEFT adapter folders (model/peft.h, cmd/export_peft.c) and `t2 inspect`
# on such a folder: the round trip expert -> folder -> expert (config values, tensor names,
# shapes and bits; tests/peft_cli.c), and each bad folder refused with one line.
set(P ${CMAKE_CURRENT_BINARY_DIR}/peft_inputs)
t2_add_test(NAME peft_make_inputs SOURCES peft_cli.c bundle_fixture.c LABELS peft TIMEOUT 30
  ARGS make ${P})
t2_add_cli_test(NAME peft_clean LABELS peft TIMEOUT 30 COMMAND sh -c "rm -rf ${P}")
set_tests_properties(peft_clean PROPERTIES FIXTURES_SETUP peft_inputs)
set_tests_properties(peft_make_inputs PROPERTIES FIXTURES_SETUP peft_inputs DEPENDS peft_clean)

# t2_peft_cli_test(name exit stderr-regex stdout-regex args...)
function(t2_peft_cli_test name exit stderr stdout)
  t2_add_cli_test(NAME peft_${name} LABELS peft TIMEOUT 30 EXIT ${exit}
    STDERR "${stderr}" STDOUT "${stdout}" FIXTURES peft_inputs COMMAND ${T2_EXE} ${ARGN})
endfunction()

# Round trips: the product fixture (target_modules q_proj, up_proj + layers_to_transform) and
# the scattered one (full module names), each exported, read back into an expert, checked.
foreach(name lora scattered)
  t2_add_cli_test(NAME peft_round_trip_${name} LABELS peft TIMEOUT 30 FIXTURES peft_inputs
    STDOUT "round trip of .*${name}\\.expert: config, 4 tensors and the expert match"
    COMMAND sh -c "${T2_EXE} export --format peft --out ${P}/${name}-peft ${P}/${name}.expert && ${T2_EXE} export --format expert --out ${P}/${name}-back.expert ${P}/${name}-peft && $<TARGET_FILE:test_peft_make_inputs> check ${P}/${name}.expert ${P}/${name}-peft ${P}/${name}-back.expert")
endforeach()
t2_peft_cli_test(export_line 0
  "^t2 export: wrote .*scattered2 \\(PEFT LoRA adapter: 2 matrices, r 3, lora_alpha 5\\.5, 84 parameters of expert 'code'\\)$"
  "" export --format peft --base-model org/tiny --out ${P}/scattered2 ${P}/scattered.expert)
t2_add_cli_test(NAME peft_base_model LABELS peft TIMEOUT 30 FIXTURES peft_inputs
  STDOUT "\"base_model_name_or_path\": \"org/tiny-base\""
  COMMAND sh -c "${T2_EXE} export --format peft --base-model org/tiny-base --out ${P}/based ${P}/lora.expert && cat ${P}/based/adapter_config.json")

# `t2 inspect` on an exported folder and on a hand-written one (no t2 metadata).
t2_add_cli_test(NAME peft_inspect LABELS peft TIMEOUT 30 FIXTURES peft_inputs
  STDOUT "^  model\\.layers\\.0\\.mlp\\.up_proj\\.weight +\\[4, 6\\] +lora_A \\[2, 6\\] +lora_B \\[4, 2\\] +20 parameters$"
  COMMAND sh -c "${T2_EXE} export --format peft --out ${P}/inspected ${P}/lora.expert && ${T2_EXE} inspect ${P}/inspected")
t2_peft_cli_test(inspect_scale 0 "" "^  lora_alpha +16 \\(scale lora_alpha / r = 8\\)$"
  inspect ${P}/foreign)
t2_peft_cli_test(inspect_modules 0 "" "^  target_modules +q_proj, up_proj$" inspect ${P}/foreign)
t2_peft_cli_test(inspect_base 0 "" "^  base_model_name_or_path +tiny$" inspect ${P}/foreign)
t2_peft_cli_test(inspect_total 0 "" "^parameters: 52$" inspect ${P}/foreign)
# A foreign folder records no fingerprint: --format expert needs the base model, which must
# hold every adapted matrix at its shape (the default model's q_proj is not 8 x 8).
t2_peft_cli_test(to_expert_no_model 1
  "^t2 export: error: .*foreign: records no t2 model fingerprint. expected --base-model DIR, the base model the adapter was trained on$"
  "" export --format expert --out ${P}/foreign.expert ${P}/foreign)
t2_peft_cli_test(to_expert_wrong_model 1
  "^t2 export: error: .*foreign: adapts model\\.layers\\.0\\.mlp\\.up_proj\\.weight as \\[4, 6\\] \\(out x in\\). expected \\[[0-9]+, [0-9]+\\], its shape in .*default-model$"
  "" export --format expert --base-model ${PROJECT_SOURCE_DIR}/assets/default-model
  --out ${P}/foreign.expert ${P}/foreign)
t2_peft_cli_test(export_svf 1
  "^t2 export: error: .*svf\\.expert: method svf. expected a LoRA expert" ""
  export --format peft --out ${P}/svf-peft ${P}/svf.expert)

# Bad folders: one line each, exit 1, through both readers.
set(peft_bad_no-config "no-config: no adapter_config\\.json. expected a PEFT adapter folder \\(adapter_config\\.json and adapter_model\\.safetensors\\)$")
set(peft_bad_no-weights "no-weights/adapter_model\\.safetensors: cannot open: No such file or directory")
set(peft_bad_bad-json "bad-json/adapter_config\\.json: invalid JSON at line")
set(peft_bad_bad-type "bad-type/adapter_config\\.json: peft_type 'IA3' is not supported. expected LORA$")
set(peft_bad_bad-shape "bad-shape/adapter_model\\.safetensors: tensor 'base_model\\.model\\.model\\.layers\\.0\\.mlp\\.up_proj\\.lora_A\\.weight' has shape \\[2, 6\\]. expected \\[r, in\\] with r = 3 \\(adapter_config\\.json\\)$")
set(peft_bad_no-b "no-b/adapter_model\\.safetensors: tensor '.*up_proj\\.lora_A\\.weight' has no '.*up_proj\\.lora_B\\.weight'. expected both LoRA matrices of each module$")
set(peft_bad_rslora "rslora/adapter_config\\.json: use_rslora is true \\(scale alpha / sqrt\\(r\\) is not t2's alpha / r\\). expected false$")
set(peft_bad_bad-key "bad-key/adapter_model\\.safetensors: tensor 'base_model\\.model\\.lm_head\\.weight' is not a LoRA matrix. expected")
set(peft_bad_other-module "other-module/adapter_model\\.safetensors: tensor 'base_model\\.model\\.lm_head\\.lora_A\\.weight' adapts 'lm_head', not a linear weight of a transformer block")
set(peft_bad_untargeted "untargeted/adapter_model\\.safetensors: module 'model\\.layers\\.0\\.mlp\\.up_proj' is not one adapter_config\\.json targets")
# (no-config is no PEFT folder to `t2 inspect`, which reads a folder without
# adapter_config.json as a model folder.)
foreach(bad no-config no-weights bad-json bad-type bad-shape no-b rslora bad-key other-module untargeted)
  if(NOT bad STREQUAL "no-config")
    t2_peft_cli_test(inspect_${bad} 1 "^t2 inspect: error: .*${peft_bad_${bad}}" ""
      inspect ${P}/${bad})
  endif()
  t2_peft_cli_test(to_expert_${bad} 1 "^t2 export: error: .*${peft_bad_${bad}}" ""
    export --format expert --out ${P}/${bad}.expert ${P}/${bad})
endforeach()
t2_add_cli_test(NAME peft_nothing_left LABELS peft TIMEOUT 30 FIXTURES peft_inputs
  COMMAND sh -c "! ls ${P} | grep -q -E '\\.tmp\\.|^(no-config|bad-type|rslora)\\.expert$'")
set_tests_properties(peft_nothing_left PROPERTIES DEPENDS
  "peft_to_expert_no-config;peft_to_expert_bad-type;peft_to_expert_rslora")
