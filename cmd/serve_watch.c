/* Requests that take too long to arrive (see serve_watch.h). */
#include "cmd/serve_watch.h"

#include <sys/socket.h>

#include "base/alloc.h"
#include "base/progress.h"

struct t2_serve_watch_entry {
    int fd;
    int reading;  /* a request is arriving */
    double since; /* when it began (t2_time_now) */
    t2_serve_watch_entry *prev, *next;
};

void t2_serve_watch_init(t2_serve_watch *w, double timeout) {
    pthread_mutex_init(&w->mu, NULL);
    w->head = NULL;
    w->timeout = timeout;
    w->shut = 0;
}

void t2_serve_watch_free(t2_serve_watch *w) {
    while (w->head != NULL) t2_serve_watch_remove(w, w->head);
    pthread_mutex_destroy(&w->mu);
}

t2_serve_watch_entry *t2_serve_watch_add(t2_serve_watch *w, int fd) {
    t2_serve_watch_entry *e = t2_alloc_zero(sizeof *e);
    e->fd = fd;
    e->reading = 1;
    e->since = t2_time_now();
    pthread_mutex_lock(&w->mu);
    e->next = w->head;
    if (w->head != NULL) w->head->prev = e;
    w->head = e;
    pthread_mutex_unlock(&w->mu);
    return e;
}

void t2_serve_watch_remove(t2_serve_watch *w, t2_serve_watch_entry *e) {
    if (e == NULL) return;
    pthread_mutex_lock(&w->mu);
    if (e->prev != NULL) e->prev->next = e->next;
    else w->head = e->next;
    if (e->next != NULL) e->next->prev = e->prev;
    pthread_mutex_unlock(&w->mu);
    t2_free(e);
}

void t2_serve_watch_reading(t2_serve_watch *w, t2_serve_watch_entry *e, int reading) {
    if (e == NULL) return;
    pthread_mutex_lock(&w->mu);
    e->reading = reading;
    if (reading) e->since = t2_time_now();
    pthread_mutex_unlock(&w->mu);
}

int t2_serve_watch_check(t2_serve_watch *w) {
    int n = 0;
    double now = t2_time_now();
    /* Under the lock: an entry's socket stays open until t2_serve_watch_remove returns. */
    pthread_mutex_lock(&w->mu);
    for (t2_serve_watch_entry *e = w->head; e != NULL; e = e->next)
        if (e->reading && now - e->since > w->timeout) {
            shutdown(e->fd, SHUT_RDWR);
            e->reading = 0; /* once */
            n++;
        }
    w->shut += n;
    pthread_mutex_unlock(&w->mu);
    return n;
}
