#define _POSIX_C_SOURCE 200809L
/* Fork awareness: a handle used in a child after fork() fails with OPC_FORKED and a clear
 * detail, closing it in the child releases nothing the parent uses, the child can open its
 * own handle, and the parent's handle keeps working.
 *
 * Usage: fork <scratch-directory> */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

#define FORKED_DETAIL                                                                   \
    "this store handle was opened by the parent process and cannot be used after fork(); " \
    "open a new handle in this process"

static const char *options = "{\"argon2\":{\"m_cost\":8,\"t_cost\":1,\"p_cost\":1}}";

/* The child's checks; its exit status is the number of failed checks (capped). */
static int child(opc_store *inherited, const char *path, const char *org_id) {
    char *json = NULL;
    char *error = NULL;
    opc_principal p;
    opc_store *own = NULL;

    CHECK_STATUS(opc_organization_get(inherited, org_id, &json), OPC_FORKED);
    CHECK_STR(opc_last_error_message(), FORKED_DETAIL);
    CHECK(json == NULL);
    CHECK_STATUS(opc_authenticate(inherited, OPC_FAMILY_MANAGE, "x", "y", NULL, NULL, NULL, &p),
                 OPC_FORKED);
    CHECK_STATUS(opc_organization_list_ex(inherited, &json, &error), OPC_FORKED);
    CHECK(error != NULL);
    if (error) CHECK_STR(error, FORKED_DETAIL);
    opc_string_free(error);
    CHECK_STR(opc_status_str(OPC_FORKED), "the store handle belongs to the parent process (fork)");
    opc_store_close(inherited);

    CHECK_STATUS(opc_store_open(path, options, &own), OPC_OK);
    CHECK_STATUS(opc_organization_get(own, org_id, &json), OPC_OK);
    if (json) CHECK_CONTAINS(json, "\"name\":\"Acme\"");
    opc_string_free(json);
    opc_store_close(own);
    if (checks_failed) fprintf(stderr, "fork child: %d checks failed\n", checks_failed);
    return checks_failed > 100 ? 100 : checks_failed;
}

int main(int argc, char **argv) {
    char path[4096];
    char org_id[OPC_ID_SIZE];
    char *json = NULL;
    opc_store *store = NULL;
    pid_t pid;
    int status = 0;

    if (argc != 2) {
        fprintf(stderr, "usage: %s <scratch-directory>\n", argv[0]);
        return 2;
    }
    snprintf(path, sizeof path, "%s/fork.db", argv[1]);
    remove(path);
    CHECK_STATUS(opc_store_open(path, options, &store), OPC_OK);
    if (store == NULL) return finish("fork");
    CHECK_STATUS(opc_organization_create(store, "Acme", &json), OPC_OK);
    CHECK(json_field(json, "\"organization\"", "id", org_id, sizeof org_id));
    opc_string_free(json);

    fflush(NULL);
    pid = fork();
    if (pid == 0) _exit(child(store, path, org_id)); /* _exit: no atexit handlers of the parent */
    CHECK(pid > 0);
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);

    /* The parent's handle is untouched by the child's failures and close. */
    CHECK_STATUS(opc_organization_get(store, org_id, &json), OPC_OK);
    opc_string_free(json);
    CHECK_STATUS(opc_organization_create(store, "Still works", &json), OPC_OK);
    opc_string_free(json);
    opc_store_close(store);
    return finish("fork");
}
