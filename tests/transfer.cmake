# transfer: `t2 transfer` and the mapping behind it (rl/transfer.h, docs/cli.md,
# docs/formats.md): unit tests on tiny bundles and models (tests/test_transfer.c), then the
# command on the shipped models: a bundle of random experts over assets/default-model's real
# MLP matrices and fingerprint, mapped onto assets/small-model (4 layers -> 2, other shapes)
# and assets/seed2-model (same shapes, other weights), checked member by member
# (tests/transfer_cli.c), shown by `t2 inspect`, used by `t2 eval` on its new model and
# refused on the old one; bad inputs give one line each and leave nothing behind.
t2_add_test(NAME transfer_unit SOURCES test_transfer.c bundle_fixture.c LABELS transfer
  TIMEOUT 30)

set(X ${CMAKE_CURRENT_BINARY_DIR}/transfer_inputs)
set(XM ${PROJECT_SOURCE_DIR}/assets)
t2_add_cli_test(NAME transfer_clean LABELS transfer TIMEOUT 30 COMMAND sh -c "rm -rf ${X}")
t2_add_test(NAME transfer_make_inputs SOURCES transfer_cli.c bundle_fixture.c LABELS transfer
  TIMEOUT 60 ARGS make ${X})
set_tests_properties(transfer_make_inputs PROPERTIES DEPENDS transfer_clean)

# t2_transfer_cli_test(name exit stderr-regex stdout-regex fixtures args...)
function(t2_transfer_cli_test name exit stderr stdout fixtures)
  t2_add_cli_test(NAME transfer_cli_${name} LABELS transfer TIMEOUT 60 EXIT ${exit}
    STDERR "${stderr}" STDOUT "${stdout}" FIXTURES "${fixtures}" COMMAND ${T2_EXE} ${ARGN})
endfunction()

# The inputs: expert files (transfer_make_inputs), then bundles of them.
t2_transfer_cli_test(bundle 0 "^t2 bundle: wrote .*experts\\.t2b \\(3 experts" "" ""
  bundle create --out ${X}/experts.t2b ${X}/math.expert ${X}/code.expert ${X}/reasoning.expert
  --classifier ${X}/cls.expert)
t2_transfer_cli_test(bundle_lora 0 "^t2 bundle: wrote .*lora\\.t2b" "" ""
  bundle create --out ${X}/lora.t2b ${X}/lora-math.expert ${X}/lora-code.expert)
t2_transfer_cli_test(bundle_partial 0 "^t2 bundle: wrote .*partial\\.t2b" "" ""
  bundle create --out ${X}/partial.t2b ${X}/partial.expert)
t2_transfer_cli_test(bundle_norenorm 0 "^t2 bundle: wrote .*norenorm\\.t2b" "" ""
  bundle create --out ${X}/norenorm.t2b ${X}/norenorm.expert)
set_tests_properties(transfer_clean transfer_make_inputs transfer_cli_bundle
  transfer_cli_bundle_lora transfer_cli_bundle_partial transfer_cli_bundle_norenorm
  PROPERTIES FIXTURES_SETUP transfer_inputs)
set_tests_properties(transfer_cli_bundle transfer_cli_bundle_lora transfer_cli_bundle_partial
  transfer_cli_bundle_norenorm PROPERTIES DEPENDS transfer_make_inputs)

# The transfers: one line each; then the new bundles checked against their sources.
set(FP "[0-9a-f]{16}")
t2_transfer_cli_test(small 0
  "^t2 transfer: wrote .*small\\.t2b \\(3 experts \\+ classifier. 4 layers -> 2, from model ${FP} to ${FP}\\)$"
  "" transfer_inputs transfer --bundle ${X}/experts.t2b --to ${XM}/small-model
  --out ${X}/small.t2b)
t2_transfer_cli_test(seed2 0
  "^t2 transfer: wrote .*seed2\\.t2b \\(3 experts \\+ classifier. 4 layers -> 4, from model ${FP} to ${FP}\\)$"
  "" transfer_inputs transfer --bundle ${X}/experts.t2b --to ${XM}/seed2-model
  --out ${X}/seed2.t2b)
t2_transfer_cli_test(norenorm 0 "^t2 transfer: wrote .*norenorm-small\\.t2b \\(1 expert;" ""
  transfer_inputs transfer --bundle ${X}/norenorm.t2b --to ${XM}/small-model
  --out ${X}/norenorm-small.t2b)
set_tests_properties(transfer_cli_small transfer_cli_seed2 transfer_cli_norenorm
  PROPERTIES FIXTURES_SETUP transfer_done)
set(DONE "transfer_inputs;transfer_done")
# t2_transfer_check(new source model): NEW.t2b against SOURCE.t2b, made for MODEL from
# default-model's experts.
function(t2_transfer_check new source model)
  t2_add_cli_test(NAME transfer_check_${new} LABELS transfer TIMEOUT 60 FIXTURES "${DONE}"
    STDOUT "mapped from .* checked$"
    COMMAND $<TARGET_FILE:test_transfer_make_inputs> check ${X}/${new}.t2b ${X}/${source}.t2b
            ${XM}/${model} ${XM}/default-model)
endfunction()
t2_transfer_check(small experts small-model)
t2_transfer_check(seed2 experts seed2-model)
t2_transfer_check(norenorm-small norenorm small-model)

# `t2 inspect` shows the record, the note and the new experts' layout.
t2_transfer_cli_test(inspect_record 0 ""
  "^  transfer +from ${FP} \\(4 layers\\) to this model \\(2 layers\\)$" "${DONE}"
  inspect ${X}/small.t2b)
t2_transfer_cli_test(inspect_note 0 ""
  "^  transfer note +t2 transfer: layers by relative depth \\(4 to 2\\), singular values by relative rank, masks interpolated linearly. stored as linear vectors z = m$"
  "${DONE}" inspect ${X}/small.t2b)
t2_transfer_cli_test(inspect_note_same 0 ""
  "^  transfer note +t2 transfer: same layer count \\(4\\) and ranks, masks copied exactly" "${DONE}"
  inspect ${X}/seed2.t2b)
t2_transfer_cli_test(inspect_method 0 ""
  "^  method +svf \\(parametrization=linear renormalize=true\\)$" "${DONE}"
  inspect ${X}/small.t2b)
t2_transfer_cli_test(inspect_target 0 ""
  "^    model\\.layers\\.1\\.mlp\\.up_proj\\.weight +\\[256, 96\\] +96 parameters" "${DONE}"
  inspect ${X}/small.t2b)
t2_transfer_cli_test(inspect_classifier 0 "" "^classifier: cls$" "${DONE}"
  inspect ${X}/small.t2b)

# End to end: `t2 eval` runs the transferred bundle's expert on its new model (with that
# model's decomposition) and refuses it on the model the experts came from.
t2_add_cli_test(NAME transfer_decompose_small LABELS transfer TIMEOUT 120
  FIXTURES transfer_inputs
  COMMAND ${T2_EXE} decompose --model ${XM}/small-model --out ${X}/small.svd)
set_tests_properties(transfer_decompose_small PROPERTIES FIXTURES_SETUP transfer_store)
set(EVAL_ARGS --tasks math --n 4 --batch 4 --max-new-tokens 8 --strategies base,expert:math)
t2_transfer_cli_test(eval_target 0 "" "^\\| math@[0-9]+ \\| expert:math \\| [0-9.]+ % \\| "
  "${DONE};transfer_store" eval --model ${XM}/small-model --store ${X}/small.svd
  --bundle ${X}/small.t2b ${EVAL_ARGS})
t2_transfer_cli_test(eval_source 1
  "^t2 eval: error: .*small\\.t2b: bundle made for another base model \\(fingerprint ${FP}, transferred from ${FP}\\). expected ${FP} \\(.*default-model\\)$"
  "" "${DONE};transfer_store" eval --model ${XM}/default-model --store ${X}/small.svd
  --bundle ${X}/small.t2b ${EVAL_ARGS})

# Refused inputs: one line, exit 1, and no output file.
t2_transfer_cli_test(lora 1
  "^t2 transfer: error: .*lora\\.t2b: the bundle's experts are lora \\(rank=2 alpha=16\\) and cannot be transferred. expected svf experts$"
  "" transfer_inputs transfer --bundle ${X}/lora.t2b --to ${XM}/small-model
  --out ${X}/fail-lora.t2b)
t2_transfer_cli_test(again 1
  "^t2 transfer: error: .*small\\.t2b: already transferred \\(from model ${FP}, 4 layers, to ${FP}, 2 layers\\). expected a bundle trained on its model \\(transfer the original bundle instead\\)$"
  "" "${DONE}" transfer --bundle ${X}/small.t2b --to ${XM}/seed2-model --out ${X}/fail-again.t2b)
t2_transfer_cli_test(same_model 1
  "^t2 transfer: error: .*experts\\.t2b: already made for .*default-model \\(fingerprint ${FP}\\). expected another base model$"
  "" transfer_inputs transfer --bundle ${X}/experts.t2b --to ${XM}/default-model
  --out ${X}/fail-same.t2b)
t2_transfer_cli_test(partial 1
  "^t2 transfer: error: .*partial\\.t2b: expert 'math' adapts mlp\\.up_proj\\.weight on some layers but not on layer 1. expected every adapted matrix on every layer 0 to 2 \\(a transfer maps whole layers\\)$"
  "" transfer_inputs transfer --bundle ${X}/partial.t2b --to ${XM}/small-model
  --out ${X}/fail-partial.t2b)
t2_transfer_cli_test(missing_bundle 1
  "^t2 transfer: error: .*nope\\.t2b: cannot open: No such file or directory$"
  "" transfer_inputs transfer --bundle ${X}/nope.t2b --to ${XM}/small-model
  --out ${X}/fail-missing.t2b)
t2_transfer_cli_test(corrupt_bundle 1
  "^t2 transfer: error: .*corrupt\\.t2b: not a t2 expert bundle \\(checksum .*. expected the bytes t2 wrote$"
  "" transfer_inputs transfer --bundle ${X}/corrupt.t2b --to ${XM}/small-model
  --out ${X}/fail-corrupt.t2b)
t2_transfer_cli_test(truncated_bundle 1
  "^t2 transfer: error: .*truncated\\.t2b: not a t2 expert bundle \\("
  "" transfer_inputs transfer --bundle ${X}/truncated.t2b --to ${XM}/small-model
  --out ${X}/fail-truncated.t2b)
t2_transfer_cli_test(expert_as_bundle 1
  "^t2 transfer: error: .*math\\.expert: not a t2 expert bundle \\("
  "" transfer_inputs transfer --bundle ${X}/math.expert --to ${XM}/small-model
  --out ${X}/fail-expert.t2b)
t2_transfer_cli_test(not_a_model 1
  "^t2 transfer: error: .*transfer_inputs/config\\.json: cannot open: No such file or directory"
  "" transfer_inputs transfer --bundle ${X}/experts.t2b --to ${X} --out ${X}/fail-model.t2b)
t2_transfer_cli_test(unwritable 1
  "^t2 transfer: error: /nonexistent-t2-dir/x\\.t2b: cannot write: No such file or directory$"
  "" transfer_inputs transfer --bundle ${X}/experts.t2b --to ${XM}/small-model
  --out /nonexistent-t2-dir/x.t2b)
set(FAILED_TRANSFERS lora again same_model partial missing_bundle corrupt_bundle
  truncated_bundle expert_as_bundle not_a_model)
list(TRANSFORM FAILED_TRANSFERS PREPEND transfer_cli_)
t2_add_cli_test(NAME transfer_nothing_left LABELS transfer TIMEOUT 30 FIXTURES transfer_inputs
  COMMAND sh -c "! ls ${X} | grep -q '^fail-'")
set_tests_properties(transfer_nothing_left PROPERTIES DEPENDS "${FAILED_TRANSFERS}")

# Usage errors (exit 2) and help.
t2_transfer_cli_test(no_bundle 2 "^t2 transfer: error: --bundle FILE is required$" "" ""
  transfer --to ${XM}/small-model --out ${X}/x.t2b)
t2_transfer_cli_test(no_to 2 "^t2 transfer: error: --to MODEL_DIR is required$" "" ""
  transfer --bundle ${X}/experts.t2b --out ${X}/x.t2b)
t2_transfer_cli_test(no_out 2 "^t2 transfer: error: --out FILE is required$" "" ""
  transfer --bundle ${X}/experts.t2b --to ${XM}/small-model)
t2_transfer_cli_test(no_value 2 "option '--to' needs a value" "" ""
  transfer --bundle ${X}/experts.t2b --to)
t2_transfer_cli_test(unknown_option 2 "unknown option '--bogus'" "" "" transfer --bogus)
t2_transfer_cli_test(extra_argument 2 "unexpected argument 'extra'" "" ""
  transfer --bundle a --to b --out c extra)
t2_transfer_cli_test(help 0 ""
  "^usage: t2 transfer --bundle FILE --to MODEL_DIR --out FILE$" "" transfer --help)
t2_transfer_cli_test(main_help 0 "" "^  transfer +map an expert bundle" "" --help)
