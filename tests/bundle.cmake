# bundle: expert bundles (rl/bundle.h), `t2 bundle create` and the bundle mode of
# `t2 inspect` (docs/formats.md, docs/cli.md).
t2_add_test(NAME bundle_files SOURCES test_bundle.c bundle_fixture.c LABELS bundle TIMEOUT 30)

# The inputs of the command-line tests, written by one fixture test into B (emptied first):
# expert files that fit together and misfits, and a bundle with a transfer record
# (tests/bundle_cli.c).
set(B ${CMAKE_CURRENT_BINARY_DIR}/bundle_inputs)
t2_add_test(NAME bundle_make_inputs SOURCES bundle_cli.c bundle_fixture.c LABELS bundle
  TIMEOUT 30 ARGS make ${B})
t2_add_cli_test(NAME bundle_clean LABELS bundle TIMEOUT 30 COMMAND sh -c "rm -rf ${B}")
set_tests_properties(bundle_clean bundle_make_inputs PROPERTIES FIXTURES_SETUP bundle_inputs)
set_tests_properties(bundle_make_inputs PROPERTIES DEPENDS bundle_clean)

# t2_bundle_cli_test(name exit stderr-regex stdout-regex fixtures args...)
function(t2_bundle_cli_test name exit stderr stdout fixtures)
  t2_add_cli_test(NAME bundle_cli_${name} LABELS bundle TIMEOUT 30 EXIT ${exit}
    STDERR "${stderr}" STDOUT "${stdout}" FIXTURES "${fixtures}" COMMAND ${T2_EXE} ${ARGN})
endfunction()

# `t2 bundle create`: three experts and a classifier; then the bundle is read back and each
# member compared with its expert file byte for byte, and a damaged copy is made.
set(EXPERTS ${B}/math.expert ${B}/code.expert ${B}/reasoning.expert)
t2_bundle_cli_test(create 0
  "^t2 bundle: wrote .*experts\\.t2b \\(3 experts: math, code, reasoning. classifier cls. base model 0123456789abcdef\\)$"
  "" bundle_inputs bundle create --out ${B}/experts.t2b ${EXPERTS} --classifier ${B}/cls.expert)
set_tests_properties(bundle_cli_create PROPERTIES FIXTURES_SETUP bundle_created)
t2_add_cli_test(NAME bundle_round_trip LABELS bundle TIMEOUT 30
  FIXTURES "bundle_inputs;bundle_created"
  STDOUT "experts\\.t2b holds 3 experts and the classifier as their files"
  COMMAND $<TARGET_FILE:test_bundle_make_inputs> check ${B}/experts.t2b ${EXPERTS}
          --classifier ${B}/cls.expert)
t2_add_cli_test(NAME bundle_damage LABELS bundle TIMEOUT 30
  FIXTURES "bundle_inputs;bundle_created"
  COMMAND $<TARGET_FILE:test_bundle_make_inputs> damage ${B}/experts.t2b ${B})
set_tests_properties(bundle_damage PROPERTIES FIXTURES_SETUP bundle_damaged)
# Without a classifier, and a single expert.
t2_bundle_cli_test(create_one 0
  "^t2 bundle: wrote .*one\\.t2b \\(1 expert: code. classifier none. base model 0123456789abcdef\\)$"
  "" bundle_inputs bundle create --out ${B}/one.t2b ${B}/code.expert)

# `t2 inspect` on the bundle: its head, each member's fields, targets and summary line.
set(CREATED "bundle_inputs;bundle_created")
t2_bundle_cli_test(inspect_header 0 "" "^bundle: .*experts\\.t2b$" "${CREATED}"
  inspect ${B}/experts.t2b)
t2_bundle_cli_test(inspect_fingerprint 0 "" "^  model fingerprint +0123456789abcdef$" "${CREATED}"
  inspect ${B}/experts.t2b)
t2_bundle_cli_test(inspect_categories 0 "" "^  categories +math, code, reasoning$" "${CREATED}"
  inspect ${B}/experts.t2b)
t2_bundle_cli_test(inspect_classifier 0 "" "^  classifier +cls$" "${CREATED}"
  inspect ${B}/experts.t2b)
t2_bundle_cli_test(inspect_no_transfer 0 "" "^  transfer +\\(none: trained on this model\\)$"
  "${CREATED}" inspect ${B}/experts.t2b)
t2_bundle_cli_test(inspect_expert_head 0 "" "^expert 2 of 3: code$" "${CREATED}"
  inspect ${B}/experts.t2b)
t2_bundle_cli_test(inspect_expert_task 0 "" "^  task +reasoning$" "${CREATED}"
  inspect ${B}/experts.t2b)
t2_bundle_cli_test(inspect_expert_method 0 ""
  "^  method +svf \\(parametrization=sigmoid max_mult=2 renormalize=true\\)$" "${CREATED}"
  inspect ${B}/experts.t2b)
t2_bundle_cli_test(inspect_expert_target 0 ""
  "^    model\\.layers\\.1\\.mlp\\.down_proj\\.weight +\\[6, 3\\] +3 parameters +mean -2 +min -3 +max -1$"
  "${CREATED}" inspect ${B}/experts.t2b)
t2_bundle_cli_test(inspect_expert_params 0 "" "^  parameters: 7 trainable$" "${CREATED}"
  inspect ${B}/experts.t2b)
t2_bundle_cli_test(inspect_expert_summary 0 ""
  "^  training +40 steps, best step 30, best validation accuracy 0\\.7500 \\(200 samples\\), 12\\.5 s, 123456 tokens, 3 ranks$"
  "${CREATED}" inspect ${B}/experts.t2b)
t2_bundle_cli_test(inspect_classifier_member 0 ""
  "^classifier: cls$" "${CREATED}" inspect ${B}/experts.t2b)
t2_bundle_cli_test(inspect_classifier_target 0 ""
  "^    model\\.layers\\.0\\.mlp\\.up_proj\\.weight +\\[4, 6\\] +4 parameters +mean 0\\.25 +min 0 +max 0\\.5$"
  "${CREATED}" inspect ${B}/experts.t2b)
# The transfer record; file types told by their bytes, not their names.
t2_bundle_cli_test(inspect_transfer 0 ""
  "^  transfer +from fedcba9876543210 \\(24 layers\\) to this model \\(16 layers\\)$"
  bundle_inputs inspect ${B}/transfer.t2b)
t2_bundle_cli_test(inspect_transfer_note 0 "" "^  transfer note +layers by relative depth$"
  bundle_inputs inspect ${B}/transfer.t2b)
t2_bundle_cli_test(inspect_bundle_named_expert 0 "" "^  categories +math, code$"
  bundle_inputs inspect ${B}/bundle-named.expert)
t2_bundle_cli_test(inspect_expert_named_t2b 0 "" "^expert: .*expert-named\\.t2b$"
  bundle_inputs inspect ${B}/expert-named.t2b)

# Damaged bundles: one line, exit 1.
set(DAMAGED "bundle_inputs;bundle_created;bundle_damaged")
t2_bundle_cli_test(inspect_truncated 1
  "^t2 inspect: error: .*truncated\\.t2b: not a t2 expert bundle \\([0-9]+ bytes that do not end in a checksum field: truncated, or not written by t2\\). expected a protobuf message ending in its checksum$"
  "" "${DAMAGED}" inspect ${B}/truncated.t2b)
t2_bundle_cli_test(inspect_corrupt 1
  "^t2 inspect: error: .*corrupt\\.t2b: not a t2 expert bundle \\(checksum [0-9a-f]+ of its contents differs from the recorded [0-9a-f]+: truncated or corrupt\\). expected the bytes t2 wrote$"
  "" "${DAMAGED}" inspect ${B}/corrupt.t2b)
t2_bundle_cli_test(inspect_missing 1 "^t2 inspect: error: .*nope\\.t2b: cannot open: No such file"
  "" bundle_inputs inspect ${B}/nope.t2b)

# Experts that do not go together, and bad inputs: one line naming the file, exit 1, and
# nothing written.
t2_bundle_cli_test(create_other_model 1
  "^t2 bundle create: error: .*other-model\\.expert: expert 'other' was made for another base model \\(fingerprint fedcba9876543210\\) than 'math' \\(fingerprint 0123456789abcdef\\). expected one base model for every expert$"
  "" bundle_inputs bundle create --out ${B}/fail-model.t2b ${B}/math.expert ${B}/other-model.expert)
t2_bundle_cli_test(create_other_targets 1
  "^t2 bundle create: error: .*wide\\.expert: expert 'wide' adapts other matrices than 'math' \\(target 'model\\.layers\\.0\\.mlp\\.up_proj\\.weight' has shape \\[4, 8\\] against \\[4, 6\\]\\). expected the same targets$"
  "" bundle_inputs bundle create --out ${B}/fail-targets.t2b ${B}/math.expert ${B}/wide.expert)
t2_bundle_cli_test(create_other_method 1
  "^t2 bundle create: error: .*lora\\.expert: expert 'lora' is lora \\(rank=2 alpha=16\\) but 'math' is svf \\(parametrization=sigmoid max_mult=2 renormalize=true\\). expected the same method and settings$"
  "" bundle_inputs bundle create --out ${B}/fail-method.t2b ${B}/math.expert ${B}/lora.expert)
t2_bundle_cli_test(create_duplicate 1
  "^t2 bundle create: error: .*math\\.expert: expert 'math' has the name of expert 1 \\(.*math\\.expert\\). expected distinct names"
  "" bundle_inputs bundle create --out ${B}/fail-duplicate.t2b ${B}/math.expert ${B}/code.expert
  ${B}/math.expert)
t2_bundle_cli_test(create_classifier_category 1
  "^t2 bundle create: error: .*code\\.expert: classifier 'code' has the name of expert 2 \\(.*code\\.expert\\). expected a classifier name that is not a category$"
  "" bundle_inputs bundle create --out ${B}/fail-classifier.t2b ${EXPERTS}
  --classifier ${B}/code.expert)
t2_bundle_cli_test(create_missing_expert 1
  "^t2 bundle create: error: .*nope\\.expert: cannot open: No such file or directory$"
  "" bundle_inputs bundle create --out ${B}/fail-missing.t2b ${B}/math.expert ${B}/nope.expert)
t2_bundle_cli_test(create_corrupt_expert 1
  "^t2 bundle create: error: .*corrupt\\.expert: not a t2 expert file \\(checksum .*. expected the bytes t2 wrote$"
  "" bundle_inputs bundle create --out ${B}/fail-corrupt.t2b ${B}/math.expert ${B}/corrupt.expert)
t2_bundle_cli_test(create_bundle_as_expert 1
  "^t2 bundle create: error: .*transfer\\.t2b: not a t2 expert file \\("
  "" bundle_inputs bundle create --out ${B}/fail-bundle.t2b ${B}/transfer.t2b)
t2_bundle_cli_test(create_unwritable 1
  "^t2 bundle create: error: /nonexistent-t2-dir/x\\.t2b: cannot write: No such file or directory$"
  "" bundle_inputs bundle create --out /nonexistent-t2-dir/x.t2b ${EXPERTS})
t2_add_cli_test(NAME bundle_nothing_left LABELS bundle TIMEOUT 30 FIXTURES bundle_inputs
  COMMAND sh -c "! ls ${B} | grep -q -E '^fail-|\\.tmp\\.'")
set(FAILED_CREATES other_model other_targets other_method duplicate classifier_category
  missing_expert corrupt_expert bundle_as_expert)
list(TRANSFORM FAILED_CREATES PREPEND bundle_cli_create_)
set_tests_properties(bundle_nothing_left PROPERTIES DEPENDS "${FAILED_CREATES}")

# Usage errors (exit 2) and help.
t2_bundle_cli_test(no_out 2 "^t2 bundle create: error: --out FILE is required$" "" ""
  bundle create ${B}/math.expert)
t2_bundle_cli_test(no_experts 2 "expected one or more EXPERT files to bundle" "" ""
  bundle create --out ${B}/x.t2b)
t2_bundle_cli_test(classifier_no_value 2 "option '--classifier' needs a value" "" ""
  bundle create --out ${B}/x.t2b ${B}/math.expert --classifier)
t2_bundle_cli_test(unknown_option 2 "unknown option '--bogus'" "" "" bundle create --bogus)
t2_bundle_cli_test(unknown_subcommand 2
  "^t2 bundle: error: unknown subcommand 'merge'. expected create$" "" "" bundle merge)
t2_bundle_cli_test(no_subcommand 2 "^usage: t2 bundle create --out FILE EXPERT" "" "" bundle)
t2_bundle_cli_test(help 0 ""
  "^usage: t2 bundle create --out FILE EXPERT\\.\\.\\. \\[--classifier FILE\\]$" "" bundle --help)
t2_bundle_cli_test(create_help 0 "" "^  --classifier FILE +the classifier expert" ""
  bundle create --help)
t2_bundle_cli_test(inspect_help 0 "" "PATH may also be an expert bundle" "" inspect --help)
t2_bundle_cli_test(main_help 0 "" "^  bundle +put expert files" "" --help)
