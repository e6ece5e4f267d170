/* The slow-client guard of `t2 serve`: a request (headers and body) must arrive within a
 * time limit, however slowly its bytes trickle in. libmicrohttpd's own timeout
 * (MHD_OPTION_CONNECTION_TIMEOUT) only closes connections that stay silent, so a client
 * sending one byte a second would hold a connection for ever. The watch keeps each open
 * connection's socket and when it began to send its current request; t2_serve_watch_check
 * shuts down (shutdown(2), read and write) the sockets of requests still arriving past the
 * limit, and libmicrohttpd then closes those connections as it would a client that left.
 * Thread-safe. Does not: close sockets (libmicrohttpd owns them) or answer the client. */
#ifndef T2_CMD_SERVE_WATCH_H
#define T2_CMD_SERVE_WATCH_H

#include <pthread.h>

typedef struct t2_serve_watch_entry t2_serve_watch_entry; /* one connection (opaque) */

typedef struct t2_serve_watch {
    pthread_mutex_t mu;
    t2_serve_watch_entry *head; /* open connections */
    double timeout;             /* seconds a request may take to arrive */
    long shut;                  /* connections shut down so far */
} t2_serve_watch;

void t2_serve_watch_init(t2_serve_watch *w, double timeout);
/* Frees the entries left (connections libmicrohttpd has not reported closed). */
void t2_serve_watch_free(t2_serve_watch *w);

/* A connection opened on socket fd: its first request begins now. Returns its entry. */
t2_serve_watch_entry *t2_serve_watch_add(t2_serve_watch *w, int fd);
/* The connection closed (before its socket is): forgets it. NULL ok. */
void t2_serve_watch_remove(t2_serve_watch *w, t2_serve_watch_entry *entry);
/* reading 1: a new request begins now (the previous one was answered); 0: the request has
 * arrived whole. NULL ok. */
void t2_serve_watch_reading(t2_serve_watch *w, t2_serve_watch_entry *entry, int reading);
/* Shuts down the sockets of requests arriving for longer than the timeout; returns how many
 * this call shut down. */
int t2_serve_watch_check(t2_serve_watch *w);

#endif
