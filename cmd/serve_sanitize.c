/* AddressSanitizer's default options for the t2 executable, in sanitizer builds only.
 * libmicrohttpd (t2 serve, cmd/serve_http.c) brings gnutls and p11-kit into every t2
 * process: two more libraries with thread-local storage. With them, LeakSanitizer's check at
 * exit crashes on Debian 12 (gcc 12, glibc 2.36) in every t2 command that starts MPI ("Tracer
 * caught signal 11" reading a dynamic TLS block of an MPI component that it tracked through
 * __tls_get_addr; "LeakSanitizer has encountered a fatal error"). Not intercepting
 * __tls_get_addr avoids it; leaks are still reported (dynamic TLS blocks are then not scanned
 * as roots, which can only add reports). ASAN_OPTIONS still overrides these. The name is
 * the one the sanitizer runtime looks up. */
#if defined(__SANITIZE_ADDRESS__)
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "intercept_tls_get_addr=0"; }
#endif
