/* A minimal opcore host: opens a store, bootstraps an organization, creates a project through
 * the Manage API (opc_handle) with the organization's root client, and prints the response.
 *
 * Build: make (see Makefile; pkg-config must find opcore.pc)
 * Run:   ./example-dynamic [store.db]        (default: example.db) */
#include <stdio.h>
#include <string.h>

#include <opcore.h>

/* Copies the string value that follows `"key":"` after `after` in `json` into `out`. */
static int field(const char *json, const char *after, const char *key, char *out, size_t size) {
    char pattern[32];
    const char *start = strstr(json, after);
    const char *end;
    if (start == NULL) return 0;
    snprintf(pattern, sizeof pattern, "\"%s\":\"", key);
    start = strstr(start, pattern);
    if (start == NULL) return 0;
    start += strlen(pattern);
    end = strchr(start, '"');
    if (end == NULL || (size_t)(end - start) >= size) return 0;
    memcpy(out, start, (size_t)(end - start));
    out[end - start] = '\0';
    return 1;
}

static int fail(const char *what, opc_status status) {
    fprintf(stderr, "%s failed: %s (%s)\n", what, opc_status_str(status), opc_last_error_message());
    return 1;
}

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : "example.db";
    opc_store *store = NULL;
    char *bootstrap = NULL;
    opc_response *response = NULL;
    char client_id[64];
    char client_secret[64];
    opc_status status;
    const char *body = "{\"name\":\"Example Project\",\"cors\":[\"https://example.com\"]}";
    int ok;

    printf("opcore %s (header %s)\n", opc_version(), OPCORE_VERSION);

    status = opc_store_open(path, NULL, &store);
    if (status != OPC_OK) return fail("opc_store_open", status);

    /* Bootstrap: the organization and its first root client; the secret is shown only here. */
    status = opc_organization_create(store, "Example Org", &bootstrap);
    if (status != OPC_OK) {
        opc_store_close(store);
        return fail("opc_organization_create", status);
    }
    ok = field(bootstrap, "\"client\"", "id", client_id, sizeof client_id) &&
         field(bootstrap, "\"client\"", "secret", client_secret, sizeof client_secret);
    opc_string_free(bootstrap); /* also wipes the secret in it */
    if (!ok) {
        fprintf(stderr, "unexpected bootstrap JSON\n");
        opc_store_close(store);
        return 1;
    }

    {
        const char *names[] = {"openpanel-client-id", "openpanel-client-secret",
                               "content-type"};
        const char *values[] = {client_id, client_secret, "application/json"};
        status = opc_handle(store, "POST", "/manage/projects", names, values, 3,
                            (const unsigned char *)body, strlen(body), &response);
    }
    memset(client_secret, 0, sizeof client_secret);
    if (status != OPC_OK) {
        opc_store_close(store);
        return fail("opc_handle", status);
    }

    printf("POST /manage/projects -> %u\n", (unsigned)opc_response_status(response));
    printf("x-ratelimit-remaining: %s\n", opc_response_header(response, "x-ratelimit-remaining"));
    printf("%s\n", opc_response_body(response));
    ok = opc_response_status(response) == 200;

    /* Shutdown order: free what the store handed out, then close the store. */
    opc_response_free(response);
    opc_store_close(store);
    return ok ? 0 : 1;
}
