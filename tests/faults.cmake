# Faults (tests/test_faults.sh, docs/reliability.md "Faults"): SIGKILL of one rank in the
# middle of train, decompose, eval and pretrain under mpirun; SIGUSR1/SIGTERM stopping train
# and pretrain at a step boundary with a checkpoint (exit 75); a full disk while writing a
# store, an expert, a bundle, checkpoints and metrics (the T2_FAULT_WRITE_AFTER hook of
# base/file.h); corrupted stores, checkpoints, experts and bundles refused. faults_tool
# damages files for the last.
# The sanitizer build runs none of them, for the suite's time budget of 15 minutes on 2
# cores (under ASan they took 33-95 s each, about 2 minutes of the suite): `kill` runs no
# code of t2's own (mpirun kills the ranks); `signal` adds a flag and one agreement per step
# to the checkpoint the train and pretrain resume tests write under the sanitizers; `disk`
# and `corrupt` run the error paths of base/file.c and the checksums, which the fuzz replays
# (label fuzz) and the bad-input tests of every command also run there.
add_executable(faults_tool faults_tool.c)
target_compile_options(faults_tool PRIVATE ${T2_WARNINGS})
target_link_libraries(faults_tool PRIVATE t2_base)
set(T2_FAULT_PARTS kill signal disk corrupt)
if(T2_SANITIZE)
  set(T2_FAULT_PARTS)
endif()
set(T2_FAULT_SIGNALS both)
foreach(part ${T2_FAULT_PARTS})
  add_test(NAME faults_${part} COMMAND sh ${PROJECT_SOURCE_DIR}/tests/test_faults.sh ${part}
    ${T2_EXE} ${MPIEXEC_EXECUTABLE} ${PROJECT_SOURCE_DIR} $<TARGET_FILE:faults_tool>
    $<TARGET_FILE:test_eval_check> ${T2_FAULT_SIGNALS})
  set_tests_properties(faults_${part} PROPERTIES ENVIRONMENT "${T2_TEST_ENV}" TIMEOUT 300
    LABELS "faults;mpi")
endforeach()
