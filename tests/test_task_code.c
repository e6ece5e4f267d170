/* The code and arith_code tasks checked by an interpreter of the tiny language written here,
 * independently of the generators (which compute values while drawing a program and hold no
 * parser): for every level and both splits, the program's printed value is the reference
 * answer, and the worked answer is exactly the interpreter's trace (each assignment "v=value."
 * and each loop turn "i=k: v=value.") followed by "The answer is <value>.". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "rl/task.h"

enum { STR_CAP = 128, N_VARS = 16 };

typedef struct value {
    int is_str;
    long long n;
    char s[STR_CAP];
} value;

typedef struct machine {
    char names[N_VARS][16];
    value vals[N_VARS];
    int n_vars;
    char trace[1024];
    const char *error; /* first problem met, NULL while the program runs */
} machine;

static value *lookup(machine *m, const char *name, size_t len, int create) {
    for (int i = 0; i < m->n_vars; i++)
        if (strlen(m->names[i]) == len && strncmp(m->names[i], name, len) == 0)
            return &m->vals[i];
    if (!create || m->n_vars == N_VARS || len >= sizeof m->names[0]) return NULL;
    memcpy(m->names[m->n_vars], name, len);
    m->names[m->n_vars][len] = '\0';
    return &m->vals[m->n_vars++];
}

static int is_lower(char c) { return c >= 'a' && c <= 'z'; }
static int is_digit(char c) { return c >= '0' && c <= '9'; }

/* Parses one atom at *p: integer, 'string', name, rev(name), up(name), len(name). */
static value atom(machine *m, const char **p) {
    value v = {0};
    const char *s = *p;
    if (is_digit(*s)) {
        v.n = strtoll(s, (char **)p, 10);
        return v;
    }
    if (*s == '\'') {
        const char *end = strchr(s + 1, '\'');
        if (end == NULL || end - s - 1 >= STR_CAP) {
            m->error = "unterminated string";
            return v;
        }
        v.is_str = 1;
        memcpy(v.s, s + 1, (size_t)(end - s - 1));
        *p = end + 1;
        return v;
    }
    const char *q = s;
    while (is_lower(*q)) q++;
    if (q == s) {
        m->error = "expected an atom";
        return v;
    }
    if (*q == '(') { /* a function of one variable */
        const char *arg = q + 1, *close = strchr(arg, ')');
        value *x = close ? lookup(m, arg, (size_t)(close - arg), 0) : NULL;
        if (x == NULL || !x->is_str) {
            m->error = "function of an unknown or non-string variable";
            return v;
        }
        size_t n = strlen(x->s);
        if (q - s == 3 && strncmp(s, "rev", 3) == 0) {
            v.is_str = 1;
            for (size_t i = 0; i < n; i++) v.s[i] = x->s[n - 1 - i];
        } else if (q - s == 2 && strncmp(s, "up", 2) == 0) {
            v.is_str = 1;
            for (size_t i = 0; i < n; i++)
                v.s[i] = is_lower(x->s[i]) ? (char)(x->s[i] - 'a' + 'A') : x->s[i];
        } else if (q - s == 3 && strncmp(s, "len", 3) == 0) {
            v.n = (long long)n;
        } else {
            m->error = "unknown function";
        }
        *p = close + 1;
        return v;
    }
    value *x = lookup(m, s, (size_t)(q - s), 0);
    if (x == NULL) {
        m->error = "unknown variable";
        return v;
    }
    *p = q;
    return *x;
}

/* expr := atom [op atom], to the end of the statement. */
static value expr(machine *m, const char *s, const char *end) {
    const char *p = s;
    value a = atom(m, &p);
    if (m->error || p == end) return a;
    char op = *p++;
    value b = atom(m, &p);
    if (m->error) return a;
    if (p != end) {
        m->error = "trailing text in an expression";
        return a;
    }
    value r = {0};
    if (!a.is_str && !b.is_str) {
        r.n = op == '+' ? a.n + b.n : op == '-' ? a.n - b.n : op == '*' ? a.n * b.n : 0;
        if (op != '+' && op != '-' && op != '*') m->error = "unknown operator";
    } else if (a.is_str && b.is_str && op == '+') {
        r.is_str = 1;
        size_t na = strlen(a.s), nb = strlen(b.s);
        if (na + nb >= STR_CAP) {
            m->error = "string too long";
        } else {
            memcpy(r.s, a.s, na);
            memcpy(r.s + na, b.s, nb + 1);
        }
    } else if (a.is_str && !b.is_str && op == '*' && b.n >= 0 &&
               strlen(a.s) * (size_t)b.n < STR_CAP) {
        r.is_str = 1;
        for (long long i = 0; i < b.n; i++) strcat(r.s, a.s);
    } else {
        m->error = "operator does not apply to these types";
    }
    return r;
}

static void show(char *out, size_t cap, const value *v) {
    if (v->is_str) snprintf(out, cap, "%s", v->s);
    else snprintf(out, cap, "%lld", v->n);
}

/* Appends one step to the trace, space-separated. */
static void trace_add(machine *m, const char *step) {
    size_t used = strlen(m->trace);
    snprintf(m->trace + used, sizeof m->trace - used, "%s%s", used ? " " : "", step);
}

/* Runs "v=E" (stmt .. end) and records "v=value." (with the loop prefix pre, may be ""). */
static void assign(machine *m, const char *s, const char *end, const char *pre) {
    const char *eq = memchr(s, '=', (size_t)(end - s));
    if (eq == NULL || eq == s) {
        m->error = "expected an assignment";
        return;
    }
    value v = expr(m, eq + 1, end);
    value *slot = lookup(m, s, (size_t)(eq - s), 1);
    if (m->error || slot == NULL) {
        if (!m->error) m->error = "too many variables";
        return;
    }
    *slot = v;
    char name[16], text[STR_CAP + 32];
    snprintf(name, sizeof name, "%.*s", (int)(eq - s), s);
    show(text, sizeof text, &v);
    char full[STR_CAP + 64];
    snprintf(full, sizeof full, "%s%s=%s.", pre, name, text);
    trace_add(m, full);
}

/* Runs a whole program; returns the printed value in out, or NULL with m->error. */
static int run(machine *m, const char *program, char *out, size_t cap) {
    memset(m, 0, sizeof *m);
    const char *s = program;
    for (;;) {
        const char *end = strstr(s, "; ");
        if (end == NULL) end = s + strlen(s);
        if (strncmp(s, "print ", 6) == 0) {
            value v = expr(m, s + 6, end);
            if (*end != '\0') m->error = "print is not the last statement";
            if (m->error) return 0;
            show(out, cap, &v);
            return 1;
        }
        if (strncmp(s, "for ", 4) == 0) {
            char var[16];
            int lo, hi, used = 0;
            if (sscanf(s, "for %15[a-z] in %d..%d: %n", var, &lo, &hi, &used) != 3 || !used) {
                m->error = "malformed loop";
                return 0;
            }
            value *iv = lookup(m, var, strlen(var), 1);
            for (int i = lo; iv && i <= hi && !m->error; i++) {
                iv->is_str = 0;
                iv->n = i;
                char pre[32];
                snprintf(pre, sizeof pre, "%s=%d: ", var, i);
                assign(m, s + used, end, pre);
            }
        } else {
            assign(m, s, end, "");
        }
        if (m->error) return 0;
        if (*end == '\0') {
            m->error = "no print statement";
            return 0;
        }
        s = end + 2;
    }
}

static void check_task(const char *name) {
    int64_t checked = 0;
    for (int level = T2_TASK_LEVEL_MIN; level <= T2_TASK_LEVEL_MAX; level++) {
        t2_task_options o = {NULL, level, 11, 0, 0, NULL};
        t2_error err = {{0}};
        t2_task *task = t2_task_open(name, &o, &err);
        CHECK(task != NULL, "%s: %s", name, err.msg);
        if (task == NULL) return;
        int bad = 0;
        for (int64_t i = 0; i < 3000 && bad < 5; i++) {
            t2_task_split split = i % 3 == 0 ? T2_TASK_SPLIT_TEST : T2_TASK_SPLIT_TRAIN;
            t2_task_sample s = {0};
            t2_task_get(task, split, i % 3 == 0 ? i / 3 : i, &s);
            const char *program = s.prompt + strlen("Question: ");
            char source[512];
            snprintf(source, sizeof source, "%.*s", (int)(strlen(program) - strlen("\nAnswer:")),
                     program);
            machine m;
            char out[STR_CAP];
            if (!run(&m, source, out, sizeof out)) {
                CHECK(0, "%s level %d: '%s': %s", name, level, source, m.error);
                bad++;
            } else {
                char worked[2048];
                snprintf(worked, sizeof worked, " %s The answer is %s.\n", m.trace, out);
                int ok = strcmp(out, s.answer) == 0 && strcmp(worked, s.worked) == 0;
                CHECK(ok, "%s level %d: '%s' prints '%s' (trace '%s'); sample says '%s' ('%s')",
                      name, level, source, out, m.trace, s.answer, s.worked);
                bad += !ok;
                /* integers are compared as numbers, strings exactly */
                CHECK(s.match == (out[0] == '-' || is_digit(out[0]) ? T2_ANSWER_MATCH_NUMERIC
                                                                    : T2_ANSWER_MATCH_EXACT),
                      "%s: match kind of '%s'", name, out);
                checked++;
            }
            t2_task_sample_free(&s);
        }
        t2_task_free(task);
    }
    fprintf(stderr, "ok   %s: %lld programs run\n", name, (long long)checked);
}

/* The interpreter itself on hand-written programs, so that a broken interpreter cannot agree
 * with a broken generator. */
static void interpreter(void) {
    static const char *const cases[][3] = {
        {"a=4; b=a*3; c=b-5; print c", "7", "a=4. b=12. c=7."},
        {"x=2; for i in 1..3: x=x+i; print x", "8", "x=2. i=1: x=3. i=2: x=5. i=3: x=8."},
        {"s='ab'; t=s+'cd'; u=rev(t); print u", "dcba", "s=ab. t=abcd. u=dcba."},
        {"s='ab'; t=up(s); n=len(t); print n", "2", "s=ab. t=AB. n=2."},
        {"s='xy'; t=s*3; print t", "xyxyxy", "s=xy. t=xyxyxy."},
        {"coins=5; for day in 1..2: coins=coins-2; print coins", "1",
         "coins=5. day=1: coins=3. day=2: coins=1."},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        machine m;
        char out[STR_CAP];
        int ok = run(&m, cases[i][0], out, sizeof out);
        CHECK(ok && strcmp(out, cases[i][1]) == 0 && strcmp(m.trace, cases[i][2]) == 0,
              "'%s': got '%s' / '%s' (%s)", cases[i][0], ok ? out : "-", m.trace,
              m.error ? m.error : "ok");
    }
    machine m;
    char out[STR_CAP];
    CHECK(!run(&m, "x=1; print y", out, sizeof out), "unknown variable is an error");
    CHECK(!run(&m, "s='a'; t=s-1; print t", out, sizeof out), "string minus is an error");
}

int main(void) {
    interpreter();
    check_task("code");
    check_task("arith_code");
    return t2_check_exit_code();
}
