# decompose: the SVD routines (LAPACK, ScaLAPACK's p?gesvd, t2's distributed route) and
# `t2 decompose` (targets, plan, store; the command on good and bad input, 1-4 ranks).

# Unit tests, one process.
t2_add_test(NAME svd SOURCES test_svd.c svd_fixture.c LABELS decompose TIMEOUT 30)
t2_add_test(NAME svd_block_cyclic SOURCES test_svd_block_cyclic.c LABELS decompose TIMEOUT 30)
t2_add_test(NAME decompose_store SOURCES test_decompose_store.c LABELS decompose TIMEOUT 30)
t2_add_test(NAME background_flush SOURCES test_background_flush.c LABELS decompose TIMEOUT 30)
t2_add_test(NAME decompose_targets SOURCES test_decompose_targets.c LABELS decompose TIMEOUT 30)

# The distributed SVDs against LAPACK on 1, 2, 3 and 4 (oversubscribed) ranks.
t2_add_test(NAME svd_dist SOURCES test_svd_dist.c svd_fixture.c RANKS 1 LABELS decompose)
# Their leak check is left to the 1-rank run (the same allocations): with the full stacks
# needed to suppress Open MPI's leaks, every malloc of the thousands of BLACS messages costs
# an unwind, and the sanitizer build spent 20 of 21 s on that at 4 ranks.
foreach(ranks 2 3 4)
  t2_add_cli_test(NAME svd_dist_${ranks}ranks RANKS ${ranks} LABELS decompose TIMEOUT 180
    COMMAND $<TARGET_FILE:test_svd_dist>)
  set_property(TEST svd_dist_${ranks}ranks APPEND PROPERTY ENVIRONMENT
    "ASAN_OPTIONS=detect_leaks=0:abort_on_error=0")
endforeach()

# `t2 decompose`. Everything lives in D, emptied first; the models are fixtures: small (a
# random 2-layer model), other (the same shape, another seed) and sharded (small's tensors
# spread over three shard files with an index).
set(D ${CMAKE_CURRENT_BINARY_DIR}/decompose)
t2_add_cli_test(NAME decompose_clean LABELS decompose TIMEOUT 30
  COMMAND sh -c "rm -rf ${D} && mkdir -p ${D}")
set_tests_properties(decompose_clean PROPERTIES FIXTURES_SETUP decompose_clean)
foreach(model small other)
  if(model STREQUAL small)
    set(seed 11)
  else()
    set(seed 12)
  endif()
  t2_add_cli_test(NAME decompose_model_${model} LABELS decompose TIMEOUT 60 FIXTURES decompose_clean
    COMMAND ${T2_EXE} new-model --out ${D}/${model} --hidden 64 --layers 2 --ffn 160 --heads 4
            --kv-heads 2 --seed ${seed})
  set_tests_properties(decompose_model_${model} PROPERTIES
    FIXTURES_SETUP "decompose_models;decompose_${model}")
endforeach()
t2_add_test(NAME decompose_model_sharded SOURCES test_decompose_shards.c LABELS decompose
  TIMEOUT 60 ARGS ${D}/small ${D}/sharded)
set_tests_properties(decompose_model_sharded PROPERTIES FIXTURES_REQUIRED decompose_small
  FIXTURES_SETUP decompose_models)

# The store checker (reconstruction from the stored floats); its first use checks the store
# of the one-process run below.
t2_add_test(NAME decompose_check SOURCES test_decompose_check.c LABELS decompose TIMEOUT 60
  ARGS ${D}/small ${D}/small-1.store 14)
set_tests_properties(decompose_check PROPERTIES FIXTURES_REQUIRED decompose_store_1rank)

# t2_decompose_case(name ranks model store targets-count STDERR-regex args...): a run that
# must succeed, then the checker on its store.
function(t2_decompose_case name ranks model store count stderr)
  t2_add_cli_test(NAME decompose_${name} RANKS ${ranks} LABELS decompose TIMEOUT 120
    STDERR "${stderr}" FIXTURES decompose_models
    COMMAND ${T2_EXE} decompose --model ${D}/${model} --out ${D}/${store} ${ARGN})
  set_tests_properties(decompose_${name} PROPERTIES FIXTURES_SETUP decompose_store_${name})
  if(NOT name STREQUAL 1rank)
    t2_add_cli_test(NAME decompose_${name}_check LABELS decompose TIMEOUT 60
      STDOUT "${count} targets" FIXTURES decompose_store_${name}
      COMMAND $<TARGET_FILE:test_decompose_check> ${D}/${model} ${D}/${store} ${count})
  endif()
endfunction()

# One process without mpirun; 2 ranks, matrices whole on single ranks; rank groups of 2 + 1
# (2 matrices on 3 ranks, A = W), a group of 4 on a 2 x 2 grid (A = W^T) in float; the
# attention set; p?gesvd on a group; a sharded model on 3 ranks.
t2_decompose_case(1rank "" small small-1.store 14 "14 matrices \\(0 on rank groups\\)" --verify)
t2_decompose_case(2ranks 2 small small-2.store 14 "14 matrices" --block-size 8 --verify)
t2_decompose_case(3ranks_groups 3 small groups-3.store 2 "2 matrices \\(1 on rank groups\\)"
  --match "model.layers.1.mlp.[gu]*" --block-size 8 --verify)
t2_decompose_case(4ranks_group 4 small group-4.store 1 "1 matrix \\(1 on rank groups\\)"
  --regex "layers\\.0\\.mlp\\.down" --block-size 8 --precision float --verify)
t2_decompose_case(4ranks_attn 4 small attn-4.store 8 "8 matrices" --targets attn --block-size 4)
t2_decompose_case(2ranks_scalapack 2 small scalapack-2.store 1 "1 matrix \\(1 on rank groups\\)"
  --regex "layers\\.1\\.self_attn\\.q" --method scalapack --block-size 8)
t2_decompose_case(sharded 3 sharded sharded-3.store 14 "14 matrices" --block-size 8)

# Matrices are handed out to whichever rank asks first; the store does not depend on it.
t2_add_cli_test(NAME decompose_store_any_ranks LABELS decompose TIMEOUT 30
  FIXTURES decompose_store_1rank decompose_store_2ranks
  COMMAND cmp ${D}/small-1.store ${D}/small-2.store)

# --verify prints the figures on stdout.
t2_add_cli_test(NAME decompose_verify_output RANKS 2 LABELS decompose TIMEOUT 120
  FIXTURES decompose_models
  STDOUT "worst \\(double\\): residual [0-9.]+e-1[3-6], \\|UtU-I\\| [0-9.]+e-1[3-6].*S descending in every matrix"
  COMMAND ${T2_EXE} decompose --model ${D}/small --out ${D}/verify.store --verify --force)

# A matching store is re-used, also when the same bytes come from shards.
t2_add_cli_test(NAME decompose_reuse RANKS 2 LABELS decompose TIMEOUT 60
  FIXTURES decompose_store_1rank STDERR "small-1\\.store already holds this decomposition \\(14 matrices, fingerprint [0-9a-f]{16}\\). re-used it"
  COMMAND ${T2_EXE} decompose --model ${D}/small --out ${D}/small-1.store)
t2_add_cli_test(NAME decompose_reuse_sharded LABELS decompose TIMEOUT 60
  FIXTURES decompose_store_1rank STDERR "re-used it"
  COMMAND ${T2_EXE} decompose --model ${D}/sharded --out ${D}/small-1.store)

# Bad input: one clear line from rank 0, exit 1 on every rank, no hang (2 or 3 ranks).
function(t2_decompose_bad name ranks exit stderr)
  t2_add_cli_test(NAME decompose_bad_${name} RANKS ${ranks} LABELS decompose TIMEOUT 60
    EXIT ${exit} STDERR "${stderr}" FIXTURES decompose_store_1rank COMMAND ${T2_EXE} decompose ${ARGN})
endfunction()
t2_decompose_bad(other_model 2 1
  "t2 decompose: error: .*small-1\\.store: holds the decomposition of other weights or targets \\(source fingerprint [0-9a-f]+, made from .*small\\). expected [0-9a-f]+ for .*other \\(--force replaces it\\)"
  --model ${D}/other --out ${D}/small-1.store)
t2_decompose_bad(other_targets 3 1 "small-1\\.store: holds the decomposition of other weights or targets"
  --model ${D}/small --out ${D}/small-1.store --targets mlp)
t2_decompose_bad(other_options 2 1
  "small-1\\.store: was made with other options \\(precision=double\\). expected precision=float"
  --model ${D}/small --out ${D}/small-1.store --precision float)
t2_decompose_bad(no_match 3 1
  "t2 decompose: error: .*small: the target selection \\(glob 'model\\.layers\\.\\*\\.mlp\\.nope'\\) matches no matrix"
  --model ${D}/small --out ${D}/none.store --match "model.layers.*.mlp.nope")
t2_decompose_bad(bad_regex 2 1 "regex 'layers\\.\\(0': .*expected a POSIX extended regular expression"
  --model ${D}/small --out ${D}/none.store --regex "layers.(0")
t2_decompose_bad(unwritable 2 1
  "t2 decompose: error: /nonexistent-t2-dir/x\\.store: cannot write: No such file or directory"
  --model ${D}/small --out /nonexistent-t2-dir/x.store)
t2_decompose_bad(out_is_folder 2 1 "decompose: is a folder. expected the path of a store file"
  --model ${D}/small --out ${D})
t2_decompose_bad(missing_model 3 1 "nope: " --model ${D}/nope --out ${D}/none.store)
# Usage errors come from argv, the same on every rank: one process is enough.
t2_decompose_bad(no_model "" 2 "t2 decompose: error: --model DIR is required" --out x.store)
t2_decompose_bad(bad_precision "" 2 "--precision: 'half' is not valid. expected double or float"
  --model ${D}/small --out x.store --precision half)
t2_decompose_bad(both_patterns "" 2 "--match and --regex both given"
  --model ${D}/small --out x.store --match "*" --regex ".")
t2_decompose_bad(unknown_option "" 2 "unknown option '--bogus'" --bogus)
t2_decompose_bad(missing_value "" 2 "option '--out' needs a value" --model ${D}/small --out)

# A truncated store is refused (not silently replaced); --force replaces a mismatching one.
t2_add_cli_test(NAME decompose_make_truncated LABELS decompose TIMEOUT 30
  FIXTURES decompose_store_1rank
  COMMAND sh -c "cp ${D}/small-1.store ${D}/truncated.store && truncate -s -100 ${D}/truncated.store && cp ${D}/small-1.store ${D}/forced.store")
set_tests_properties(decompose_make_truncated PROPERTIES FIXTURES_SETUP decompose_truncated)
t2_add_cli_test(NAME decompose_bad_truncated RANKS 2 LABELS decompose TIMEOUT 60 EXIT 1
  FIXTURES decompose_truncated
  STDERR "truncated\\.store: tensor '[^']+': data_offsets .* lie outside the data buffer.*\\(the file at --out is not a store t2 can re-use. --force replaces it\\)"
  COMMAND ${T2_EXE} decompose --model ${D}/small --out ${D}/truncated.store)
t2_add_cli_test(NAME decompose_force RANKS 2 LABELS decompose TIMEOUT 60
  FIXTURES decompose_truncated STDERR "14 matrices .*wrote .*forced\\.store"
  COMMAND ${T2_EXE} decompose --model ${D}/other --out ${D}/forced.store --force)

# The config file: every flag has a key; flags win; unknown keys and wrong types are errors.
set(C ${CMAKE_CURRENT_BINARY_DIR}/decompose-configs)
file(WRITE ${C}/good.cfg "model = \"${D}/small\";\nout = \"${D}/config.store\";\ntargets = \"mlp\";\nprecision = \"float\";\nblock_size = 8;\nverify = true;\nforce = true;\n")
file(WRITE ${C}/unknown_key.cfg "model = \"${D}/small\";\nblocksize = 8;\n")
file(WRITE ${C}/wrong_type.cfg "model = \"${D}/small\";\nblock_size = \"8\";\n")
file(WRITE ${C}/syntax.cfg "model = \"${D}/small\"\nout = ;\n")
t2_add_cli_test(NAME decompose_config RANKS 2 LABELS decompose TIMEOUT 60
  FIXTURES decompose_models STDERR "6 matrices" STDOUT "worst \\(float\\)"
  COMMAND ${T2_EXE} decompose --config ${C}/good.cfg)
t2_add_cli_test(NAME decompose_config_flag_wins LABELS decompose TIMEOUT 60
  FIXTURES decompose_models STDERR "8 matrices"
  COMMAND ${T2_EXE} decompose --config ${C}/good.cfg --targets attn --out ${D}/config-attn.store)
t2_decompose_bad(config_unknown_key 2 1
  "unknown_key\\.cfg: unknown key 'blocksize'. expected model, out, targets" --config ${C}/unknown_key.cfg)
t2_decompose_bad(config_wrong_type 2 1
  "wrong_type\\.cfg: key 'block_size' has the wrong type. expected an integer" --config ${C}/wrong_type.cfg)
t2_decompose_bad(config_syntax 2 1 "syntax\\.cfg:2: syntax error" --config ${C}/syntax.cfg)
t2_decompose_bad(config_missing 2 1 "missing\\.cfg: cannot open" --config ${C}/missing.cfg)
t2_add_cli_test(NAME decompose_help LABELS decompose TIMEOUT 30 STDOUT "usage: \\[mpirun -n N\\] t2 decompose"
  COMMAND ${T2_EXE} decompose --help)

