# Expert training (t2 train): learning, reproducibility across runs and rank counts, resume
# after a stop and after SIGKILL, sft and lora, and every bad input on 2 ranks.
# The sanitizer build learns on 2 ranks only (learn2): the slowest test there, and the 3-rank
# run adds no code path the 1/2/3-rank equality checks of `rest` do not already run under the
# sanitizers; the Release build runs both learning runs.
set(T2_LEARN_PART learn)
if(T2_SANITIZE)
  set(T2_LEARN_PART learn2)
endif()
foreach(part learn rest)
  set(arg ${part})
  if(part STREQUAL learn)
    set(arg ${T2_LEARN_PART})
  endif()
  add_test(NAME train_rl_${part} COMMAND sh ${PROJECT_SOURCE_DIR}/tests/test_train_rl.sh ${T2_EXE}
    ${MPIEXEC_EXECUTABLE} ${PROJECT_SOURCE_DIR} ${arg} $<TARGET_FILE:weights_close>)
  set_tests_properties(train_rl_${part} PROPERTIES ENVIRONMENT "${T2_TEST_ENV}" TIMEOUT 1200
    LABELS "train_rl;mpi")
endforeach()
add_test(NAME train_rl_bad_input COMMAND sh ${PROJECT_SOURCE_DIR}/tests/test_train_bad.sh ${T2_EXE}
  ${MPIEXEC_EXECUTABLE} ${PROJECT_SOURCE_DIR})
set_tests_properties(train_rl_bad_input PROPERTIES ENVIRONMENT "${T2_TEST_ENV}" TIMEOUT 900
  LABELS "train_rl;mpi")
# Prompts of uneven length: the engine is sized from every train prompt (the longest last),
# prompts that cannot fit the context are skipped with one line (tests/test_train_prompts.sh).
# The sanitizer build leaves out the 1-rank and resume comparisons (`rest` runs those paths).
set(T2_PROMPTS_PART all)
if(T2_SANITIZE)
  set(T2_PROMPTS_PART short)
endif()
add_test(NAME train_rl_prompts COMMAND sh ${PROJECT_SOURCE_DIR}/tests/test_train_prompts.sh
  ${T2_EXE} ${MPIEXEC_EXECUTABLE} ${PROJECT_SOURCE_DIR} ${T2_PROMPTS_PART})
set_tests_properties(train_rl_prompts PROPERTIES ENVIRONMENT "${T2_TEST_ENV}" TIMEOUT 300
  LABELS "train_rl;mpi")
t2_add_cli_test(NAME train_help STDOUT "usage: .*t2 train" LABELS train_rl
  COMMAND ${T2_EXE} train --help)

# The work hand-out of training and decomposition: each item to one rank, each note delivered
# once, on 3 ranks at different paces and in one process.
t2_add_test(NAME handout SOURCES test_handout.c RANKS 3 LABELS train decompose TIMEOUT 60)
t2_add_cli_test(NAME handout_1rank LABELS train decompose TIMEOUT 60
  COMMAND $<TARGET_FILE:test_handout>)
