# skinny: the decode kernels of linalg/skinny.h, once per kernel forced through T2_KERNEL (a
# kernel the CPU lacks is skipped with a message), once with the automatic choice, and with
# an unknown T2_KERNEL (the automatic choice must win).
t2_add_test(NAME skinny SOURCES test_skinny.c LABELS linalg)
foreach(kernel avx512 avx2 plain blis bogus avx512bf16 plainbf16)
  add_test(NAME skinny_${kernel} COMMAND $<TARGET_FILE:test_skinny>
    WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
  set_tests_properties(skinny_${kernel} PROPERTIES ENVIRONMENT "${T2_TEST_ENV};T2_KERNEL=${kernel}"
    TIMEOUT 120 LABELS linalg)
endforeach()
# weight: half-precision weights (linalg/weight.h) on each kernel, as skinny. The sanitizer
# build runs the automatic choice and the plain kernel only (each run takes 16-20 s under
# ASan; the kernels' loads are the same code as skinny's, which runs every kernel there).
t2_add_test(NAME weight SOURCES test_weight.c LABELS linalg)
set(T2_WEIGHT_KERNELS avx512 avx2 plain blis avx512bf16 plainbf16)
if(T2_SANITIZE)
  set(T2_WEIGHT_KERNELS plain)
endif()
foreach(kernel ${T2_WEIGHT_KERNELS})
  add_test(NAME weight_${kernel} COMMAND $<TARGET_FILE:test_weight>
    WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
  set_tests_properties(weight_${kernel} PROPERTIES ENVIRONMENT "${T2_TEST_ENV};T2_KERNEL=${kernel}"
    TIMEOUT 120 LABELS linalg)
endforeach()

# skinny on the AVX-512 and AVX2 kernels, and weight (not in the sanitizer build, as above),
# with both ways of streaming one decode row's weights (linalg/skinny.h), forced.
foreach(streams 1 8)
  set(T2_STREAMS_RUNS skinny:avx512 skinny:avx2 weight:auto)
  if(T2_SANITIZE)
    set(T2_STREAMS_RUNS skinny:avx512 skinny:avx2)
  endif()
  foreach(run ${T2_STREAMS_RUNS})
    string(REPLACE ":" ";" run ${run})
    list(GET run 0 program)
    list(GET run 1 kernel)
    add_test(NAME ${program}_${kernel}_streams${streams} COMMAND $<TARGET_FILE:test_${program}>
      WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
    set_tests_properties(${program}_${kernel}_streams${streams} PROPERTIES ENVIRONMENT
      "${T2_TEST_ENV};T2_SKINNY_STREAMS=${streams};T2_KERNEL=${kernel}" TIMEOUT 120
      LABELS linalg)
  endforeach()
endforeach()
