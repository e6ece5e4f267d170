# slurm: the job scripts of slurm/ submitted to a private Slurm cluster started on this
# machine (tests/slurm_cluster.sh), on the embedded default model with tiny settings
# (tests/test_slurm.sh, docs/slurm.md): slurm_one_node runs the whole chain on one slurmd, a
# failing chain and a requeued training job; slurm_two_nodes runs the chain's MPI stages on
# two slurmd (srun --mpi=pmix, and the mpirun fallback). Each test starts and stops its own
# cluster (private ports and folder) and takes 15-60 s. Skipped (exit 77, with the
# reason) where slurmd cannot run: no cgroup filesystem.
#
# Registered in the Release build only, not in the sanitizer (Debug) build: the scripts and
# Slurm are the same in both, the t2 commands they run are covered under ASan and UBSan by
# the eval, train and decompose suites, and the CI time budget has no room for a second run.
if(NOT CMAKE_BUILD_TYPE STREQUAL "Release" OR T2_SANITIZE)
  return()
endif()
foreach(mode one_node two_nodes)
  add_test(NAME slurm_${mode}
    COMMAND bash ${PROJECT_SOURCE_DIR}/tests/test_slurm.sh ${mode} ${T2_EXE} ${PROJECT_SOURCE_DIR}
            ${CMAKE_CURRENT_BINARY_DIR}/slurm $<TARGET_FILE:test_eval_check>)
  set_tests_properties(slurm_${mode} PROPERTIES ENVIRONMENT "${T2_TEST_ENV}" TIMEOUT 400
    LABELS "slurm;mpi" SKIP_RETURN_CODE 77)
endforeach()
