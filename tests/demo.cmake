# demo: `t2 demo --quick` (cmd/demo.c) end to end on 2 ranks on the shipped default model:
# the six steps, both tables with every row, the files; a second run re-uses the first's
# store and experts; bad --model / --out are one error line on 2 ranks
# (tests/test_demo.sh). The demo's folder is D.
set(D ${CMAKE_CURRENT_BINARY_DIR}/demo_out)
function(t2_demo_test mode timeout)
  add_test(NAME demo_${mode} COMMAND sh ${PROJECT_SOURCE_DIR}/tests/test_demo.sh ${mode}
    ${T2_EXE} ${MPIEXEC_EXECUTABLE} ${PROJECT_SOURCE_DIR} ${D})
  set_tests_properties(demo_${mode} PROPERTIES ENVIRONMENT "${T2_TEST_ENV}"
    TIMEOUT ${timeout} LABELS "demo;mpi")
endfunction()
t2_demo_test(quick 900)
set_tests_properties(demo_quick PROPERTIES FIXTURES_SETUP demo_run)
t2_demo_test(rerun 600)
set_tests_properties(demo_rerun PROPERTIES FIXTURES_REQUIRED demo_run)
set(D ${CMAKE_CURRENT_BINARY_DIR}/demo_bad)
t2_demo_test(bad 300)
t2_add_cli_test(NAME demo_help LABELS demo
  STDOUT "^usage: \\[mpirun -n N\\] t2 demo .*--quick"
  COMMAND ${T2_EXE} demo --help)
t2_add_cli_test(NAME demo_help_settings LABELS demo STDOUT "^  --fewshot-population N +"
  COMMAND ${T2_EXE} demo --help)
t2_add_cli_test(NAME demo_main_help LABELS demo STDOUT "^  demo +Transformer² end to end"
  COMMAND ${T2_EXE} --help)
