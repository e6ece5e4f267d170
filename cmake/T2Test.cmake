# Test helpers. Every test is a small executable or a t2 command line, registered here.
#
# t2_add_test(NAME n SOURCES a.c ... [RANKS r] [LABELS l ...] [TIMEOUT s] [ARGS ...])
#   builds tests/<sources> into test_<n> and runs it (under mpiexec -n r --oversubscribe when
#   RANKS is given).
# t2_add_cli_test(NAME n [RANKS r] [LABELS ...] [EXIT code] [STDERR regex] [STDOUT regex] COMMAND ...)
#   runs a command line through tests/expect.sh, which checks the exit status, that stderr
#   matches STDERR, stdout matches STDOUT, and that no sanitizer report or crash occurred.
#   "$<TARGET_FILE:t2>" is available as T2_EXE.
# Open MPI's own leaks (tests/lsan.supp) are only recognised with full allocation stacks,
# which the slower unwinder gives; oversubscribed ranks must yield the CPU while they wait
# (busy polling made a 4-rank test 70x slower on 2 cores). t2 commands start MPI even without
# mpiexec, so every test gets this environment.
set(T2_TEST_ENV
  "OMPI_ALLOW_RUN_AS_ROOT=1" "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1" "OMPI_MCA_rmaps_base_oversubscribe=1"
  "OMPI_MCA_mpi_yield_when_idle=1" "OMPI_MCA_mca_base_component_disable_dlclose=1"
  "BLIS_NUM_THREADS=1" "ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:fast_unwind_on_malloc=0"
  "LSAN_OPTIONS=suppressions=${PROJECT_SOURCE_DIR}/tests/lsan.supp"
  "UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1"
  "T2_SOURCE_DIR=${PROJECT_SOURCE_DIR}" "T2_SHARED_DATA=${PROJECT_SOURCE_DIR}/../shared/data")
set(T2_TEST_ENV_MPI ${T2_TEST_ENV}) # the same: kept for tests that name it
set(T2_EXE $<TARGET_FILE:t2>)

function(t2_mpi_prefix out ranks)
  if(ranks)
    set(${out} ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} ${ranks} --oversubscribe PARENT_SCOPE)
  else()
    set(${out} "" PARENT_SCOPE)
  endif()
endfunction()

function(t2_add_test)
  cmake_parse_arguments(T "" "NAME;RANKS;TIMEOUT" "SOURCES;LABELS;ARGS;LIBS" ${ARGN})
  add_executable(test_${T_NAME} ${T_SOURCES} ${PROJECT_SOURCE_DIR}/tests/check.c)
  target_compile_options(test_${T_NAME} PRIVATE ${T2_WARNINGS})
  target_include_directories(test_${T_NAME} PRIVATE ${PROJECT_SOURCE_DIR}/tests)
  target_link_libraries(test_${T_NAME} PRIVATE ${T_LIBS} t2_dist t2_rl t2_model t2_linalg t2_base t2_proto)
  t2_mpi_prefix(prefix "${T_RANKS}")
  add_test(NAME ${T_NAME} COMMAND ${prefix} $<TARGET_FILE:test_${T_NAME}> ${T_ARGS}
    WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 120)
  endif()
  set_tests_properties(${T_NAME} PROPERTIES ENVIRONMENT "${T2_TEST_ENV}" TIMEOUT ${T_TIMEOUT}
    LABELS "${T_LABELS}")
endfunction()

function(t2_add_cli_test)
  cmake_parse_arguments(T "" "NAME;RANKS;TIMEOUT;EXIT;STDERR;STDOUT;STDIN" "LABELS;COMMAND;FIXTURES" ${ARGN})
  # A ';' inside a quoted STDERR / STDOUT regex splits it into list items: only the part
  # before it would be checked and the rest dropped here. Write '.' for a ';' in a regex.
  if(T_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "${T_NAME}: arguments '${T_UNPARSED_ARGUMENTS}' are not understood "
            "(a ';' in a STDERR or STDOUT regex? write '.' instead)")
  endif()
  if(NOT DEFINED T_EXIT)
    set(T_EXIT 0)
  endif()
  t2_mpi_prefix(prefix "${T_RANKS}")
  add_test(NAME ${T_NAME}
    COMMAND sh ${PROJECT_SOURCE_DIR}/tests/expect.sh "${T_EXIT}" "${T_STDERR}" "${T_STDOUT}" "${T_STDIN}"
            ${prefix} ${T_COMMAND}
    WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 120)
  endif()
  set_tests_properties(${T_NAME} PROPERTIES ENVIRONMENT "${T2_TEST_ENV}" TIMEOUT ${T_TIMEOUT}
    LABELS "${T_LABELS}")
  if(T_FIXTURES)
    set_tests_properties(${T_NAME} PROPERTIES FIXTURES_REQUIRED "${T_FIXTURES}")
  endif()
endfunction()
