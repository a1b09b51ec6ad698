/* A minimal test harness for the opcore C ABI tests: CHECK macros that count, and helpers
 * shared by the test programs. Compiled with -std=c11 -Wall -Wextra -Wpedantic -Werror. */
#ifndef OPCORE_TEST_CHECK_H
#define OPCORE_TEST_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "opcore.h"

static int checks_passed;
static int checks_failed;

#define CHECK(cond)                                                                    \
    do {                                                                               \
        if (cond) {                                                                    \
            checks_passed++;                                                           \
        } else {                                                                       \
            checks_failed++;                                                           \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);   \
        }                                                                              \
    } while (0)

/* `call` must return `expected`; on a mismatch both statuses and the message are shown. */
#define CHECK_STATUS(call, expected)                                                   \
    do {                                                                               \
        opc_status got_ = (call);                                                      \
        if (got_ == (opc_status)(expected)) {                                          \
            checks_passed++;                                                           \
        } else {                                                                       \
            checks_failed++;                                                           \
            fprintf(stderr, "%s:%d: %s returned %u (%s), expected %u (%s): %s\n",      \
                    __FILE__, __LINE__, #call, (unsigned)got_, opc_status_str(got_),   \
                    (unsigned)(expected), opc_status_str(expected),                    \
                    opc_last_error_message());                                         \
        }                                                                              \
    } while (0)

#define CHECK_STR(actual, expected)                                                    \
    do {                                                                               \
        const char *a_ = (actual);                                                     \
        const char *e_ = (expected);                                                   \
        if (a_ != NULL && strcmp(a_, e_) == 0) {                                       \
            checks_passed++;                                                           \
        } else {                                                                       \
            checks_failed++;                                                           \
            fprintf(stderr, "%s:%d: %s is \"%s\", expected \"%s\"\n", __FILE__,        \
                    __LINE__, #actual, a_ ? a_ : "(NULL)", e_);                        \
        }                                                                              \
    } while (0)

#define CHECK_CONTAINS(haystack, needle)                                               \
    do {                                                                               \
        const char *h_ = (haystack);                                                   \
        const char *n_ = (needle);                                                     \
        if (h_ != NULL && strstr(h_, n_) != NULL) {                                    \
            checks_passed++;                                                           \
        } else {                                                                       \
            checks_failed++;                                                           \
            fprintf(stderr, "%s:%d: %s (\"%s\") does not contain \"%s\"\n", __FILE__,  \
                    __LINE__, #haystack, h_ ? h_ : "(NULL)", n_);                      \
        }                                                                              \
    } while (0)

/* Not valid UTF-8: a lone continuation byte and a byte that never occurs in UTF-8. */
static const char BAD_UTF8[] = "\x80\xff";

/* Small argon2 parameters keep the sanitizer and valgrind runs fast. */
static const char FAST_OPTIONS[] = "{\"argon2\":{\"m_cost\":8,\"t_cost\":1,\"p_cost\":1}}";

/* Copies the string value of the first `"key":"` found in `json` after `after` (or from the
 * start when `after` is NULL) into `out`. Enough for the flat ids and secrets the tests read. */
static int json_field(const char *json, const char *after, const char *key, char *out,
                      size_t size) {
    char pattern[64];
    const char *start = json;
    const char *end;
    size_t len;
    if (json == NULL) return 0;
    if (after != NULL) {
        start = strstr(json, after);
        if (start == NULL) return 0;
    }
    snprintf(pattern, sizeof pattern, "\"%s\":\"", key);
    start = strstr(start, pattern);
    if (start == NULL) return 0;
    start += strlen(pattern);
    end = strchr(start, '"');
    if (end == NULL) return 0;
    len = (size_t)(end - start);
    if (len + 1 > size) return 0;
    memcpy(out, start, len);
    out[len] = '\0';
    return 1;
}

static int finish(const char *program) {
    printf("%s: %d checks passed, %d failed\n", program, checks_passed, checks_failed);
    return checks_failed == 0 && checks_passed > 0 ? 0 : 1;
}

#endif
