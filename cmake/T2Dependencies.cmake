# Finds the fixed dependencies (Debian 12 packages; scripts/setup.sh installs them) and wraps
# the ones without a usable CMake config or .pc file in IMPORTED targets.
find_package(PkgConfig REQUIRED)
find_package(MPI REQUIRED COMPONENTS C)
pkg_check_modules(LIBCONFIG REQUIRED IMPORTED_TARGET libconfig)
pkg_check_modules(PROTOBUFC REQUIRED IMPORTED_TARGET libprotobuf-c)
pkg_check_modules(JANSSON REQUIRED IMPORTED_TARGET jansson)
pkg_check_modules(PCRE2 REQUIRED IMPORTED_TARGET libpcre2-8)
pkg_check_modules(UTF8PROC REQUIRED IMPORTED_TARGET libutf8proc) # NFC (Qwen2 tokenizers)
find_program(PROTOC_C protoc-c REQUIRED)

# BLIS: no .pc or CMake config in Debian.
find_path(BLIS_INCLUDE_DIR blis.h PATH_SUFFIXES blis blis-openmp x86_64-linux-gnu/blis-openmp REQUIRED)
find_library(BLIS_LIBRARY NAMES blis REQUIRED)
add_library(t2::blis UNKNOWN IMPORTED)
set_target_properties(t2::blis PROPERTIES IMPORTED_LOCATION "${BLIS_LIBRARY}"
  INTERFACE_INCLUDE_DIRECTORIES "${BLIS_INCLUDE_DIR}")

# ScaLAPACK (Open MPI flavour): Debian's CMake config and .pc are broken here.
find_library(SCALAPACK_LIBRARY NAMES scalapack-openmpi REQUIRED)
find_package(LAPACK REQUIRED)
find_library(LAPACKE_LIBRARY NAMES lapacke REQUIRED)

# BLIS is linked before ScaLAPACK/LAPACK so their BLAS calls resolve to BLIS.
add_library(t2::numerics INTERFACE IMPORTED)
target_link_libraries(t2::numerics INTERFACE t2::blis ${SCALAPACK_LIBRARY} ${LAPACKE_LIBRARY}
  ${LAPACK_LIBRARIES} m)
