# Faults (tests/test_faults.sh, docs/reliability.md "Faults"): SIGKILL of one rank in the
# middle of train, decompose, eval and pretrain under mpirun; SIGUSR1/SIGTERM stopping train
# and pretrain at a step boundary with a checkpoint (exit 75); a full disk while writing a
# store, an expert, a bundle, checkpoints and metrics (the T2_FAULT_WRITE_AFTER hook of
# base/file.h); corrupted stores, checkpoints, experts and bundles refused. faults_tool
# damages files for the last.
# The sanitizer build leaves out `kill` (mpirun kills the ranks there: t2 runs no code of its
# own for it that the other parts and the train/pretrain resume tests do not run) and
# `signal` (a flag set by the handler and one agreement per step; the checkpoint it writes is
# the periodic one the train and pretrain resume tests run under the sanitizers), for the
# suite's time budget of 15 minutes on 2 cores: under ASan `signal` took 33-95 s.
add_executable(faults_tool faults_tool.c)
target_compile_options(faults_tool PRIVATE ${T2_WARNINGS})
target_link_libraries(faults_tool PRIVATE t2_base)
set(T2_FAULT_PARTS kill signal disk corrupt)
if(T2_SANITIZE)
  set(T2_FAULT_PARTS disk corrupt)
endif()
set(T2_FAULT_SIGNALS both)
foreach(part ${T2_FAULT_PARTS})
  add_test(NAME faults_${part} COMMAND sh ${PROJECT_SOURCE_DIR}/tests/test_faults.sh ${part}
    ${T2_EXE} ${MPIEXEC_EXECUTABLE} ${PROJECT_SOURCE_DIR} $<TARGET_FILE:faults_tool>
    $<TARGET_FILE:test_eval_check> ${T2_FAULT_SIGNALS})
  set_tests_properties(faults_${part} PROPERTIES ENVIRONMENT "${T2_TEST_ENV}" TIMEOUT 300
    LABELS "faults;mpi")
endforeach()
