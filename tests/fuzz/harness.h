/* Helpers shared by the fuzz targets of tests/fuzz/ (one fuzz_<target>.c per parser, each
 * defining LLVMFuzzerTestOneInput): a scratch folder of this process for the parsers that
 * only read a path, and NUL-terminated copies of an input. Failures here are the harness's,
 * not the parser's: they print one line and abort. Not for use outside tests/fuzz/.
 * Reference: https://llvm.org/docs/LibFuzzer.html (the entry point's contract). */
#ifndef T2_TESTS_FUZZ_HARNESS_H
#define T2_TESTS_FUZZ_HARNESS_H

#include <stddef.h>
#include <stdint.h>

/* libFuzzer's entry point, defined by each target: runs one input; returns 0. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* "<scratch>/<name>": a heap string (t2_free). The scratch folder is made on the first call
 * (under /dev/shm when writable, else $TMPDIR or /tmp; its name holds the pid) and removed
 * with the files in it when the process exits normally. */
char *t2_fuzz_path(const char *name);

/* Runs try_fn on a copy of the bytes with t2's checksum seal (rl/expert_impl.h: the key of
 * field 1000, C1 3E, and the XXH64 of every byte before it) made right: a seal already at
 * the end is replaced, else one is appended. Lets mutated expert, bundle and checkpoint
 * files reach the checks behind the checksum. */
typedef void (*t2_fuzz_try_fn)(const uint8_t *data, size_t size);
void t2_fuzz_try_resealed(const uint8_t *data, size_t size, t2_fuzz_try_fn try_fn);

/* A promise of the parser that the target checks beyond what the sanitizers see (a bound, a
 * round trip): when ok is 0, prints "t2 fuzz: <what>" and aborts, which libFuzzer reports as
 * a crash and the replay as a failed test. */
void t2_fuzz_require(int ok, const char *what);

/* Makes the folder path (its parent must exist); aborts on failure. */
void t2_fuzz_mkdir(const char *path);

/* Writes size bytes to path (replacing it). Not atomic: one process owns its scratch. */
void t2_fuzz_write(const char *path, const uint8_t *data, size_t size);

/* The input as a NUL-terminated heap string (t2_free); an embedded NUL ends it early, as it
 * would for a parser of C strings. */
char *t2_fuzz_text(const uint8_t *data, size_t size);

#endif
