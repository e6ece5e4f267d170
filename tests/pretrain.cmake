# Pretraining: loss falls, runs are reproducible, resume is bitwise, rank counts agree; bad
# configs give one line on every rank.
add_executable(weights_close weights_close.c)
target_compile_options(weights_close PRIVATE ${T2_WARNINGS})
target_link_libraries(weights_close PRIVATE t2_model t2_base)
add_test(NAME pretrain_mpi COMMAND sh ${PROJECT_SOURCE_DIR}/tests/test_pretrain.sh ${T2_EXE}
  ${MPIEXEC_EXECUTABLE} $<TARGET_FILE:weights_close>)
set_tests_properties(pretrain_mpi PROPERTIES ENVIRONMENT "${T2_TEST_ENV}" TIMEOUT 300 LABELS "pretrain;mpi")

set(T2_BAD_CONFIGS ${PROJECT_SOURCE_DIR}/tests/data/configs)
t2_add_cli_test(NAME pretrain_bad_unknown_key RANKS 2 EXIT 1 LABELS pretrain
  STDERR "pretrain-unknown-key.cfg:2: unknown key 'bogus_key'"
  COMMAND ${T2_EXE} pretrain ${T2_BAD_CONFIGS}/pretrain-unknown-key.cfg --init-model x --out y)
t2_add_cli_test(NAME pretrain_bad_wrong_type RANKS 2 EXIT 1 LABELS pretrain
  STDERR "pretrain-wrong-type.cfg:1: key 'steps' has the wrong type. expected an integer"
  COMMAND ${T2_EXE} pretrain ${T2_BAD_CONFIGS}/pretrain-wrong-type.cfg --init-model x --out y)
t2_add_cli_test(NAME pretrain_bad_syntax RANKS 2 EXIT 1 LABELS pretrain
  STDERR "pretrain-syntax.cfg:2: syntax error"
  COMMAND ${T2_EXE} pretrain ${T2_BAD_CONFIGS}/pretrain-syntax.cfg --init-model x --out y)
t2_add_cli_test(NAME pretrain_bad_missing_config RANKS 2 EXIT 1 LABELS pretrain
  STDERR "no-such.cfg: cannot open"
  COMMAND ${T2_EXE} pretrain no-such.cfg)
t2_add_cli_test(NAME pretrain_bad_model RANKS 2 EXIT 1 LABELS pretrain
  STDERR "no-such-model/config.json"
  COMMAND ${T2_EXE} pretrain --init-model no-such-model --out y)
t2_add_cli_test(NAME pretrain_bad_corpus RANKS 2 EXIT 1 LABELS pretrain
  STDERR "corpus mix"
  COMMAND ${T2_EXE} pretrain --init-model ${CMAKE_BINARY_DIR}/default-model --out y --corpus nosuchtask:1)
t2_add_cli_test(NAME pretrain_missing_out EXIT 2 LABELS pretrain
  STDERR "missing setting 'out'"
  COMMAND ${T2_EXE} pretrain --init-model x)
t2_add_cli_test(NAME pretrain_help STDOUT "usage: .*t2 pretrain" LABELS pretrain
  COMMAND ${T2_EXE} pretrain --help)
