/* 8 threads sharing one opc_store: concurrent creates get distinct ids, concurrent increments
 * are never lost, authentication and opc_handle work from every thread, and each thread's
 * opc_last_error_message is its own.
 *
 * Usage: threads <scratch-directory> */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

#define THREADS 8
#define ROUNDS 5

static opc_store *store;
static char org_id[OPC_ID_SIZE];
static char root_id[64];
static char root_secret[64];
static char ids[THREADS][ROUNDS][OPC_ID_SIZE];

/* Each thread counts into its own slots; the main thread adds them up after joining. */
struct result {
    int index;
    int passed;
    int failed;
};

#define T_CHECK(r, cond)                                                               \
    do {                                                                               \
        if (cond) {                                                                    \
            (r)->passed++;                                                             \
        } else {                                                                       \
            (r)->failed++;                                                             \
            fprintf(stderr, "thread %d: %s:%d: CHECK failed: %s (%s)\n", (r)->index,   \
                    __FILE__, __LINE__, #cond, opc_last_error_message());              \
        }                                                                              \
    } while (0)

static void *worker(void *arg) {
    struct result *r = arg;
    const char *names[] = {"openpanel-client-id", "openpanel-client-secret"};
    const char *values[] = {root_id, root_secret};
    char own_error[64];

    for (int round = 0; round < ROUNDS; round++) {
        char *json = NULL;
        opc_response *response = NULL;
        opc_principal p;
        int64_t count = 0;

        T_CHECK(r, opc_project_create(store, org_id, "{\"name\":\"Same\"}", &json) == OPC_OK);
        T_CHECK(r, json_field(json, NULL, "id", ids[r->index][round], OPC_ID_SIZE));
        opc_string_free(json);

        T_CHECK(r, opc_authenticate(store, OPC_FAMILY_MANAGE, root_id, root_secret, NULL, NULL,
                                    NULL, &p) == OPC_OK);
        T_CHECK(r, p.allowed && p.client_type == OPC_CLIENT_ROOT);

        T_CHECK(r, opc_handle(store, "GET", "/manage/projects/shared", names, values, 2, NULL, 0,
                              &response) == OPC_OK);
        T_CHECK(r, opc_response_status(response) == 200);
        opc_response_free(response);

        for (int i = 0; i < 10; i++) {
            T_CHECK(r, opc_project_events_increment(store, org_id, "shared", 1, &count) == OPC_OK);
        }

        /* A failure on this thread is reported to this thread only. */
        snprintf(own_error, sizeof own_error, "thread-%d-missing", r->index);
        T_CHECK(r, opc_project_get(store, org_id, own_error, &json) == OPC_NOT_FOUND);
        T_CHECK(r, strcmp(opc_last_error_message(), "Project not found") == 0);
        T_CHECK(r, opc_project_get(store, NULL, own_error, &json) == OPC_NULL_ARGUMENT);
        T_CHECK(r, strcmp(opc_last_error_message(), "organization_id is NULL") == 0);
    }
    return NULL;
}

int main(int argc, char **argv) {
    char path[4096];
    char *json = NULL;
    pthread_t threads[THREADS];
    struct result results[THREADS];
    int64_t count = 0;
    const char *options =
        "{\"argon2\":{\"m_cost\":8,\"t_cost\":1,\"p_cost\":1},"
        "\"rate_limits\":{\"manage\":{\"limit\":100000,\"window_seconds\":10}}}";

    if (argc != 2) {
        fprintf(stderr, "usage: %s <scratch-directory>\n", argv[0]);
        return 2;
    }
    snprintf(path, sizeof path, "%s/threads.db", argv[1]);
    remove(path);
    CHECK_STATUS(opc_store_open(path, options, &store), OPC_OK);
    if (store == NULL) return finish("threads");
    CHECK_STATUS(opc_organization_create(store, "Acme", &json), OPC_OK);
    CHECK(json_field(json, "\"organization\"", "id", org_id, sizeof org_id));
    CHECK(json_field(json, "\"client\"", "id", root_id, sizeof root_id));
    CHECK(json_field(json, "\"client\"", "secret", root_secret, sizeof root_secret));
    opc_string_free(json);
    CHECK_STATUS(opc_project_create(store, org_id, "{\"name\":\"Shared\"}", &json), OPC_OK);
    opc_string_free(json);

    for (int t = 0; t < THREADS; t++) {
        results[t].index = t;
        results[t].passed = 0;
        results[t].failed = 0;
        CHECK(pthread_create(&threads[t], NULL, worker, &results[t]) == 0);
    }
    for (int t = 0; t < THREADS; t++) {
        CHECK(pthread_join(threads[t], NULL) == 0);
        checks_passed += results[t].passed;
        checks_failed += results[t].failed;
    }
    /* The main thread's last error is untouched by the workers' failures. */
    CHECK_STR(opc_last_error_message(), "");

    /* Every create got its own id: same-1 … same-40, no duplicates. */
    for (int a = 0; a < THREADS * ROUNDS; a++) {
        const char *id = ids[a / ROUNDS][a % ROUNDS];
        CHECK(strncmp(id, "same", 4) == 0);
        for (int b = a + 1; b < THREADS * ROUNDS; b++) {
            if (strcmp(id, ids[b / ROUNDS][b % ROUNDS]) == 0) {
                checks_failed++;
                fprintf(stderr, "duplicate id %s\n", id);
            }
        }
    }
    CHECK_STATUS(opc_project_events_increment(store, org_id, "shared", 0, &count), OPC_OK);
    CHECK(count == THREADS * ROUNDS * 10);
    opc_store_close(store);
    return finish("threads");
}
