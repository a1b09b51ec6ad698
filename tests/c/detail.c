/* Per-call failure details: a call made on one thread hands its own detail back through the
 * _ex variants' out_error, which any thread may then read and free (what koffi's async calls
 * and thread pools need), while opc_last_error_message stays per thread.
 *
 * Usage: detail <scratch-directory> */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

static opc_store *store;
static char org_id[OPC_ID_SIZE];

/* What a worker thread did, for the main thread to check after joining. */
struct call {
    opc_status missing_status;
    char *missing_error;     /* from opc_organization_get_ex, read by the main thread */
    opc_status invalid_status;
    char *invalid_error;     /* from opc_project_create_ex */
    opc_status ok_status;
    char *ok_error;          /* must stay NULL: the call succeeded */
    char *ok_json;
};

static void *worker(void *arg) {
    struct call *c = arg;
    char *json = NULL;
    c->missing_status = opc_organization_get_ex(store, "no-such-org", &json, &c->missing_error);
    c->invalid_status = opc_project_create_ex(store, org_id, "{\"name\":\"\"}", &json,
                                              &c->invalid_error);
    c->ok_error = (char *)"not written";
    c->ok_status = opc_project_list_ex(store, org_id, &c->ok_json, &c->ok_error);
    /* Later calls on this thread replace its thread-local detail, never the copies above. */
    opc_organization_get(store, "another-missing-org", &json);
    return NULL;
}

int main(int argc, char **argv) {
    char path[4096];
    char *json = NULL;
    char *error = NULL;
    pthread_t thread;
    struct call c;
    const char *options = "{\"argon2\":{\"m_cost\":8,\"t_cost\":1,\"p_cost\":1}}";

    if (argc != 2) {
        fprintf(stderr, "usage: %s <scratch-directory>\n", argv[0]);
        return 2;
    }
    snprintf(path, sizeof path, "%s/detail.db", argv[1]);
    remove(path);
    CHECK_STATUS(opc_store_open_ex(path, options, &store, &error), OPC_OK);
    CHECK(error == NULL);
    if (store == NULL) return finish("detail");
    CHECK_STATUS(opc_organization_create(store, "Acme", &json), OPC_OK);
    CHECK(json_field(json, "\"organization\"", "id", org_id, sizeof org_id));
    opc_string_free(json);

    memset(&c, 0, sizeof c);
    CHECK(pthread_create(&thread, NULL, worker, &c) == 0);
    CHECK(pthread_join(thread, NULL) == 0);

    /* The main thread reads the worker's own details. */
    CHECK(c.missing_status == OPC_NOT_FOUND);
    CHECK(c.missing_error != NULL);
    if (c.missing_error) CHECK_STR(c.missing_error, "Organization not found");
    CHECK(c.invalid_status == OPC_INVALID_INPUT);
    CHECK(c.invalid_error != NULL);
    if (c.invalid_error) CHECK_CONTAINS(c.invalid_error, "name");
    CHECK(c.ok_status == OPC_OK);
    CHECK(c.ok_error == NULL);
    CHECK(c.ok_json != NULL && c.ok_json[0] == '[');
    opc_string_free(c.missing_error);
    opc_string_free(c.invalid_error);
    opc_string_free(c.ok_json);
    /* ...and its own thread-local detail was never touched by them. */
    CHECK_STR(opc_last_error_message(), "");

    /* The detail is also this thread's last error, as with the plain entry point. */
    CHECK_STATUS(opc_project_get_ex(store, org_id, "missing", &json, &error), OPC_NOT_FOUND);
    CHECK(error != NULL);
    if (error) CHECK_STR(error, opc_last_error_message());
    opc_string_free(error);

    /* A NULL out_error is allowed: the call behaves exactly as the plain entry point. */
    CHECK_STATUS(opc_project_get_ex(store, org_id, "missing", &json, NULL), OPC_NOT_FOUND);
    CHECK_STR(opc_last_error_message(), "Project not found");

    /* Argument failures come back the same way. */
    error = NULL;
    CHECK_STATUS(opc_project_get_ex(NULL, org_id, "x", &json, &error), OPC_NULL_ARGUMENT);
    if (error) CHECK_STR(error, "store is NULL");
    CHECK(error != NULL);
    opc_string_free(error);

    /* opc_store_open_ex reports why a store cannot be opened. */
    error = NULL;
    {
        opc_store *other = NULL;
        CHECK_STATUS(opc_store_open_ex(path, "{\"nope\":1}", &other, &error), OPC_INVALID_OPTIONS);
        CHECK(other == NULL);
        CHECK(error != NULL);
        if (error) CHECK_CONTAINS(error, "nope");
        opc_string_free(error);
    }

    opc_store_close(store);
    return finish("detail");
}
