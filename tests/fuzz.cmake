# Fuzz targets (tests/fuzz/fuzz_<target>.c, one per parser; docs/reliability.md "Fuzzing").
# In the normal builds each target is linked with a replay driver (tests/fuzz/replay_main.c)
# and the test fuzz_replay_<target> runs it on its seed corpus and its crash regressions, so
# the sanitizer build replays them under ASan + UBSan. With -DT2_FUZZ=ON (clang only;
# top-level CMakeLists.txt) the same sources become libFuzzer binaries instead, which
# scripts/fuzz.sh runs; `fuzz_all` builds them all.
set(T2_FUZZ_DIR ${PROJECT_SOURCE_DIR}/tests/fuzz)
if(T2_FUZZ)
  # clang 14 rejects __builtin_cpu_supports("f16c") in linalg/skinny.c; no parser calls the
  # skinny kernels, so in this build they all read as unsupported (the plain loops run).
  set_property(SOURCE ${PROJECT_SOURCE_DIR}/linalg/skinny.c DIRECTORY ${PROJECT_SOURCE_DIR}/linalg
    APPEND PROPERTY COMPILE_OPTIONS "-D__builtin_cpu_supports(feature)=0")
endif()
file(GLOB T2_FUZZ_SOURCES CONFIGURE_DEPENDS ${T2_FUZZ_DIR}/fuzz_*.c)
add_custom_target(fuzz_all)
foreach(source ${T2_FUZZ_SOURCES})
  get_filename_component(exe ${source} NAME_WE) # fuzz_<target>
  string(REGEX REPLACE "^fuzz_" "" target ${exe})
  set(sources ${source} ${T2_FUZZ_DIR}/harness.c)
  if(target STREQUAL "settings")
    list(APPEND sources ${PROJECT_SOURCE_DIR}/cmd/settings.c) # cmd/ is no library
  elseif(target STREQUAL "serve_request")
    list(APPEND sources ${PROJECT_SOURCE_DIR}/cmd/serve_json.c)
  endif()
  if(T2_FUZZ)
    add_executable(${exe} ${sources})
    target_link_options(${exe} PRIVATE -fsanitize=fuzzer)
  else()
    add_executable(${exe} ${sources} ${T2_FUZZ_DIR}/replay_main.c)
    add_test(NAME fuzz_replay_${target}
      COMMAND ${exe} ${T2_FUZZ_DIR}/corpus/${target} ${T2_FUZZ_DIR}/regressions/${target})
    set_tests_properties(fuzz_replay_${target} PROPERTIES ENVIRONMENT "${T2_TEST_ENV}"
      TIMEOUT 120 LABELS fuzz)
  endif()
  target_compile_options(${exe} PRIVATE ${T2_WARNINGS})
  target_compile_definitions(${exe} PRIVATE T2_FUZZ_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  target_include_directories(${exe} PRIVATE ${T2_FUZZ_DIR})
  target_link_libraries(${exe} PRIVATE t2_rl t2_model t2_linalg t2_base t2_proto
    PkgConfig::LIBCONFIG)
  add_dependencies(fuzz_all ${exe})
endforeach()

# The seed files of the binary formats (tests/fuzz/make_seeds.c), made on demand:
#   cmake --build build --target fuzz_make_seeds && build/tests/fuzz_make_seeds tests/fuzz/corpus
if(NOT T2_FUZZ)
  add_executable(fuzz_make_seeds EXCLUDE_FROM_ALL ${T2_FUZZ_DIR}/make_seeds.c
    ${PROJECT_SOURCE_DIR}/tests/bundle_fixture.c)
  target_compile_options(fuzz_make_seeds PRIVATE ${T2_WARNINGS})
  target_include_directories(fuzz_make_seeds PRIVATE ${PROJECT_SOURCE_DIR}/tests)
  target_link_libraries(fuzz_make_seeds PRIVATE t2_rl t2_model t2_linalg t2_base t2_proto)
endif()

# A regression whose input is accepted without its fix rather than crashing: libconfig 1.5
# reads 5000000000 as 705032704 (its low 32 bits); t2 refuses it (cmd/settings.c).
t2_add_cli_test(NAME fuzz_settings_int_beyond_32_bits EXIT 1 LABELS fuzz cmd
  STDERR "int-beyond-32-bits.cfg:2: seed = 5000000000 does not fit the 32-bit integers libconfig reads without a suffix. expected it written with an L suffix \\(5000000000L\\)"
  COMMAND ${T2_EXE} pretrain ${T2_FUZZ_DIR}/regressions/settings/int-beyond-32-bits.cfg --init-model x --out y)
