# Expert training (t2 train): learning, reproducibility across runs and rank counts, resume
# after a stop and after SIGKILL, sft and lora, and every bad input on 2 ranks.
foreach(part learn rest)
  add_test(NAME train_rl_${part} COMMAND sh ${PROJECT_SOURCE_DIR}/tests/test_train_rl.sh ${T2_EXE}
    ${MPIEXEC_EXECUTABLE} ${PROJECT_SOURCE_DIR} ${part})
  set_tests_properties(train_rl_${part} PROPERTIES ENVIRONMENT "${T2_TEST_ENV}" TIMEOUT 1200
    LABELS "train_rl;mpi")
endforeach()
add_test(NAME train_rl_bad_input COMMAND sh ${PROJECT_SOURCE_DIR}/tests/test_train_bad.sh ${T2_EXE}
  ${MPIEXEC_EXECUTABLE} ${PROJECT_SOURCE_DIR})
set_tests_properties(train_rl_bad_input PROPERTIES ENVIRONMENT "${T2_TEST_ENV}" TIMEOUT 900
  LABELS "train_rl;mpi")
t2_add_cli_test(NAME train_help STDOUT "usage: .*t2 train" LABELS train_rl
  COMMAND ${T2_EXE} train --help)
