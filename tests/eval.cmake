# eval: `t2 eval` (dist/eval.h) and the adaptation strategies it runs (rl/adapt.h) on the
# shipped default model: sharded runs on 2 and 3 ranks give the counts of a 1-rank run,
# the prompt and classifier strategies route queries, and every bad input is refused on
# 2 ranks with one line (tests/test_eval.sh). The inputs (store, experts, bundles) are
# written once by a fixture into E.
set(E ${CMAKE_CURRENT_BINARY_DIR}/eval_inputs)
add_executable(test_eval_check test_eval_check.c check.c)
target_compile_options(test_eval_check PRIVATE ${T2_WARNINGS})
target_include_directories(test_eval_check PRIVATE ${PROJECT_SOURCE_DIR}/tests)
target_link_libraries(test_eval_check PRIVATE t2_base PkgConfig::JANSSON)

function(t2_eval_test mode timeout)
  add_test(NAME eval_${mode} COMMAND sh ${PROJECT_SOURCE_DIR}/tests/test_eval.sh ${mode}
    ${T2_EXE} ${MPIEXEC_EXECUTABLE} ${PROJECT_SOURCE_DIR} ${E} $<TARGET_FILE:test_eval_check>)
  set_tests_properties(eval_${mode} PROPERTIES ENVIRONMENT "${T2_TEST_ENV}"
    TIMEOUT ${timeout} LABELS "eval;mpi")
endfunction()
t2_eval_test(fixtures 300)
set_tests_properties(eval_fixtures PROPERTIES FIXTURES_SETUP eval_inputs)
t2_eval_test(ranks 600)
t2_eval_test(bad 600)
t2_eval_test(adapt 600)
set_tests_properties(eval_ranks eval_bad eval_adapt PROPERTIES FIXTURES_REQUIRED eval_inputs)
t2_add_cli_test(NAME eval_help LABELS eval STDOUT "^usage: .*t2 eval"
  COMMAND ${T2_EXE} eval --help)
t2_add_cli_test(NAME eval_main_help LABELS eval STDOUT "^  eval +accuracy of the base model"
  COMMAND ${T2_EXE} --help)
t2_add_cli_test(NAME adapt_help LABELS eval STDOUT "^usage: .*t2 adapt"
  COMMAND ${T2_EXE} adapt --help)
t2_add_cli_test(NAME adapt_main_help LABELS eval STDOUT "^  adapt +answer queries with an expert bundle"
  COMMAND ${T2_EXE} --help)
# The few-shot search itself (dist/fewshot.h), before its fallback to the best single expert,
# on synthetic objectives: an interior optimum only a mixture reaches, and a fallback.
t2_add_test(NAME fewshot_search SOURCES test_fewshot_search.c RANKS 2 LABELS eval adapt
  TIMEOUT 60)
