# A t2 built here runs on x86-64 CPUs with fewer features, with the same results
# (docs/build.md): tests/test_portable.sh runs it under qemu-x86_64 -cpu Haswell (no AVX-512),
# Nehalem (no AVX) and qemu64 (baseline x86-64) and compares with a native run; portable_probe
# prints the kernels the run-time dispatch chose and a hash of the T2_CLONES kernels' outputs.
# About 12 s; skips when qemu-x86_64 is absent. Not registered in a T2_NATIVE build (not
# portable, by request) nor in the sanitizer build (ASan's shadow memory under qemu-user: a
# 4-token generate ran 90 s without output).
if(NOT T2_NATIVE AND NOT T2_SANITIZE)
  add_executable(portable_probe ${PROJECT_SOURCE_DIR}/tests/portable_probe.c)
  target_compile_options(portable_probe PRIVATE ${T2_WARNINGS})
  target_link_libraries(portable_probe PRIVATE t2_linalg t2_base)
  add_test(NAME portable
    COMMAND sh ${PROJECT_SOURCE_DIR}/tests/test_portable.sh ${T2_EXE}
            $<TARGET_FILE:portable_probe> ${PROJECT_SOURCE_DIR}/assets/default-model
    WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
  set_tests_properties(portable PROPERTIES ENVIRONMENT "${T2_TEST_ENV}" TIMEOUT 180
    LABELS "portable")
endif()
