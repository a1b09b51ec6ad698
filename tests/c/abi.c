/* Every entry point of include/opcore.h, from C: results, NULL and invalid UTF-8 for every
 * pointer argument (out-parameters untouched on failure), close and reopen, and (built with
 * -DOPCORE_TEST_PANIC against a library with the test-panic feature) a caught panic.
 *
 * Usage: abi <scratch-directory> */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

/* Out-parameters start as a pointer to this and must still point to it after a failure. */
static char untouched_storage;
#define UNTOUCHED ((void *)&untouched_storage)

static char org_id[OPC_ID_SIZE];
static char root_id[64];
static char root_secret[64];

typedef opc_status (*call_out1)(opc_store *, const char *, char **);
typedef opc_status (*call_out2)(opc_store *, const char *, const char *, char **);
typedef opc_status (*call_out3)(opc_store *, const char *, const char *, const char *, char **);
typedef opc_status (*call_del)(opc_store *, const char *, const char *);

/* NULL and invalid UTF-8 for each argument of f(store, a, &out). */
static void arguments_out1(const char *name, call_out1 f, opc_store *store, const char *a) {
    char *out = UNTOUCHED;
    fprintf(stderr, "  arguments of %s\n", name);
    CHECK_STATUS(f(NULL, a, &out), OPC_NULL_ARGUMENT);
    CHECK_STR(opc_last_error_message(), "store is NULL");
    CHECK_STATUS(f(store, NULL, &out), OPC_NULL_ARGUMENT);
    CHECK_STATUS(f(store, BAD_UTF8, &out), OPC_INVALID_UTF8);
    CHECK_CONTAINS(opc_last_error_message(), "is not valid UTF-8");
    CHECK_STATUS(f(store, a, NULL), OPC_NULL_ARGUMENT);
    CHECK_STR(opc_last_error_message(), "out_json is NULL");
    CHECK(out == UNTOUCHED);
}

/* NULL and invalid UTF-8 for each argument of f(store, a, b, &out); `b_optional`: NULL b is
 * allowed (a list filter). */
static void arguments_out2(const char *name, call_out2 f, opc_store *store, const char *a,
                           const char *b, int b_optional) {
    char *out = UNTOUCHED;
    fprintf(stderr, "  arguments of %s\n", name);
    CHECK_STATUS(f(NULL, a, b, &out), OPC_NULL_ARGUMENT);
    CHECK_STR(opc_last_error_message(), "store is NULL");
    CHECK_STATUS(f(store, NULL, b, &out), OPC_NULL_ARGUMENT);
    CHECK_STR(opc_last_error_message(), "organization_id is NULL");
    CHECK_STATUS(f(store, BAD_UTF8, b, &out), OPC_INVALID_UTF8);
    CHECK_STR(opc_last_error_message(), "organization_id is not valid UTF-8");
    if (!b_optional) {
        CHECK_STATUS(f(store, a, NULL, &out), OPC_NULL_ARGUMENT);
        CHECK_CONTAINS(opc_last_error_message(), " is NULL");
    }
    CHECK_STATUS(f(store, a, BAD_UTF8, &out), OPC_INVALID_UTF8);
    CHECK_CONTAINS(opc_last_error_message(), " is not valid UTF-8");
    CHECK_STATUS(f(store, a, b, NULL), OPC_NULL_ARGUMENT);
    CHECK_STR(opc_last_error_message(), "out_json is NULL");
    CHECK(out == UNTOUCHED);
}

static void arguments_out3(const char *name, call_out3 f, opc_store *store, const char *a,
                           const char *b, const char *c) {
    char *out = UNTOUCHED;
    fprintf(stderr, "  arguments of %s\n", name);
    CHECK_STATUS(f(NULL, a, b, c, &out), OPC_NULL_ARGUMENT);
    CHECK_STATUS(f(store, NULL, b, c, &out), OPC_NULL_ARGUMENT);
    CHECK_STATUS(f(store, BAD_UTF8, b, c, &out), OPC_INVALID_UTF8);
    CHECK_STATUS(f(store, a, NULL, c, &out), OPC_NULL_ARGUMENT);
    CHECK_STATUS(f(store, a, BAD_UTF8, c, &out), OPC_INVALID_UTF8);
    CHECK_STATUS(f(store, a, b, NULL, &out), OPC_NULL_ARGUMENT);
    CHECK_STR(opc_last_error_message(), "json is NULL");
    CHECK_STATUS(f(store, a, b, BAD_UTF8, &out), OPC_INVALID_UTF8);
    CHECK_STR(opc_last_error_message(), "json is not valid UTF-8");
    CHECK_STATUS(f(store, a, b, c, NULL), OPC_NULL_ARGUMENT);
    CHECK(out == UNTOUCHED);
}

static void arguments_del(const char *name, call_del f, opc_store *store, const char *a,
                          const char *b) {
    fprintf(stderr, "  arguments of %s\n", name);
    CHECK_STATUS(f(NULL, a, b), OPC_NULL_ARGUMENT);
    CHECK_STATUS(f(store, NULL, b), OPC_NULL_ARGUMENT);
    CHECK_STATUS(f(store, BAD_UTF8, b), OPC_INVALID_UTF8);
    CHECK_STATUS(f(store, a, NULL), OPC_NULL_ARGUMENT);
    CHECK_STATUS(f(store, a, BAD_UTF8), OPC_INVALID_UTF8);
}

static void test_version_and_statuses(void) {
    char expected[32];
    snprintf(expected, sizeof expected, "%d.%d.%d", OPCORE_VERSION_MAJOR, OPCORE_VERSION_MINOR,
             OPCORE_VERSION_PATCH);
    CHECK_STR(opc_version(), OPCORE_VERSION);
    CHECK_CONTAINS(opc_version(), expected);

    CHECK(OPC_OK == 0);
    CHECK(OPC_NULL_ARGUMENT == 1 && OPC_INVALID_UTF8 == 2 && OPC_INVALID_ARGUMENT == 3);
    CHECK(OPC_INVALID_OPTIONS == 100 && OPC_OPEN_FAILED == 101);
    CHECK(OPC_NOT_FOUND == 200 && OPC_INVALID_INPUT == 201 && OPC_CONFLICT == 202);
    CHECK(OPC_STORAGE == 300 && OPC_BUSY == 301);
    CHECK(OPC_PANIC == 900 && OPC_INTERNAL == 901);
    CHECK(sizeof(opc_status) == 4);
    CHECK_STR(opc_status_str(OPC_OK), "ok");
    CHECK_STR(opc_status_str(OPC_NOT_FOUND), "not found");
    CHECK_STR(opc_status_str(OPC_PANIC), "internal error (panic caught)");
    CHECK_STR(opc_status_str((opc_status)12345), "unknown status");
    CHECK_STR(opc_status_str((opc_status)UINT32_MAX), "unknown status");
    CHECK_STR(opc_last_error_message(), "");
}

static opc_store *open_store(const char *path) {
    opc_store *store = NULL;
    CHECK_STATUS(opc_store_open(path, FAST_OPTIONS, &store), OPC_OK);
    CHECK(store != NULL);
    CHECK_STR(opc_last_error_message(), "");
    return store;
}

static void test_open_failures(const char *dir) {
    char path[4096];
    char garbage[4096];
    opc_store *store = UNTOUCHED;
    FILE *f;
    char before[64];
    char after[64];

    snprintf(path, sizeof path, "%s/refused.db", dir);
    CHECK_STATUS(opc_store_open(NULL, NULL, &store), OPC_NULL_ARGUMENT);
    CHECK_STR(opc_last_error_message(), "path is NULL");
    CHECK_STATUS(opc_store_open(BAD_UTF8, NULL, &store), OPC_INVALID_UTF8);
    CHECK_STR(opc_last_error_message(), "path is not valid UTF-8");
    CHECK_STATUS(opc_store_open(path, BAD_UTF8, &store), OPC_INVALID_UTF8);
    CHECK_STR(opc_last_error_message(), "options_json is not valid UTF-8");
    CHECK_STATUS(opc_store_open(path, NULL, NULL), OPC_NULL_ARGUMENT);
    CHECK_STR(opc_last_error_message(), "out_store is NULL");
    CHECK_STATUS(opc_store_open("", NULL, &store), OPC_INVALID_ARGUMENT);
    CHECK_STATUS(opc_store_open(path, "{\"synchronous\":\"off\"}", &store), OPC_INVALID_OPTIONS);
    CHECK_CONTAINS(opc_last_error_message(), "unknown variant `off`");
    CHECK_STATUS(opc_store_open(path, "not json", &store), OPC_INVALID_OPTIONS);
    CHECK(store == UNTOUCHED);
    CHECK((f = fopen(path, "rb")) == NULL); /* a refused open creates nothing */
    if (f) fclose(f);

    snprintf(garbage, sizeof garbage, "%s/garbage.db", dir);
    f = fopen(garbage, "wb");
    CHECK(f != NULL);
    if (f) {
        for (int i = 0; i < 4096; i++) fputc('x', f);
        fclose(f);
    }
    CHECK_STATUS(opc_store_open(garbage, FAST_OPTIONS, &store), OPC_OPEN_FAILED);
    CHECK_CONTAINS(opc_last_error_message(), "is not an SQLite database");
    CHECK(store == UNTOUCHED);
    f = fopen(garbage, "rb");
    memset(before, 'x', sizeof before);
    memset(after, 0, sizeof after);
    CHECK(f != NULL && fread(after, 1, sizeof after, f) == sizeof after);
    CHECK(memcmp(before, after, sizeof before) == 0);
    if (f) fclose(f);

    snprintf(path, sizeof path, "%s/no/such/dir/x.db", dir);
    CHECK_STATUS(opc_store_open(path, FAST_OPTIONS, &store), OPC_OPEN_FAILED);
    CHECK_CONTAINS(opc_last_error_message(), "cannot open or create the file");
    CHECK(store == UNTOUCHED);

    opc_store_close(NULL);
}

static void test_organizations(opc_store *store) {
    char *json = UNTOUCHED;
    char *got = NULL;

    CHECK_STATUS(opc_organization_create(store, "Acme", &json), OPC_OK);
    CHECK(json != UNTOUCHED && json != NULL);
    CHECK(json_field(json, "\"organization\"", "id", org_id, sizeof org_id));
    CHECK(json_field(json, "\"client\"", "id", root_id, sizeof root_id));
    CHECK(json_field(json, "\"client\"", "secret", root_secret, sizeof root_secret));
    CHECK_STR(org_id, "acme");
    CHECK(strlen(root_id) == 36);
    CHECK(strncmp(root_secret, "sec_", 4) == 0 && strlen(root_secret) == 36);
    CHECK_CONTAINS(json, "\"type\":\"root\"");
    opc_string_free(json);
    opc_string_free(NULL);

    json = UNTOUCHED;
    CHECK_STATUS(opc_organization_create(store, "", &json), OPC_INVALID_INPUT);
    CHECK_CONTAINS(opc_last_error_message(), "invalid input: name");
    CHECK(json == UNTOUCHED);
    arguments_out1("opc_organization_create", opc_organization_create, store, "Other");

    CHECK_STATUS(opc_organization_get(store, org_id, &got), OPC_OK);
    CHECK_CONTAINS(got, "\"name\":\"Acme\"");
    CHECK(strstr(got, "sec_") == NULL);
    opc_string_free(got);
    json = UNTOUCHED;
    CHECK_STATUS(opc_organization_get(store, "missing", &json), OPC_NOT_FOUND);
    CHECK_STR(opc_last_error_message(), "Organization not found");
    CHECK(json == UNTOUCHED);
    arguments_out1("opc_organization_get", opc_organization_get, store, org_id);

    CHECK_STATUS(opc_organization_create(store, "Doomed", &json), OPC_OK);
    opc_string_free(json);
    CHECK_STATUS(opc_organization_list(store, &got), OPC_OK);
    CHECK_CONTAINS(got, "\"id\":\"doomed\"");
    opc_string_free(got);
    json = UNTOUCHED;
    CHECK_STATUS(opc_organization_list(NULL, &json), OPC_NULL_ARGUMENT);
    CHECK_STATUS(opc_organization_list(store, NULL), OPC_NULL_ARGUMENT);
    CHECK(json == UNTOUCHED);

    CHECK_STATUS(opc_organization_delete(store, "doomed"), OPC_OK);
    CHECK_STATUS(opc_organization_delete(store, "doomed"), OPC_NOT_FOUND);
    CHECK_STATUS(opc_organization_delete(NULL, "doomed"), OPC_NULL_ARGUMENT);
    CHECK_STATUS(opc_organization_delete(store, NULL), OPC_NULL_ARGUMENT);
    CHECK_STATUS(opc_organization_delete(store, BAD_UTF8), OPC_INVALID_UTF8);
}

static void test_handle(opc_store *store) {
    const char *names[] = {"openpanel-client-id", "openpanel-client-secret"};
    const char *values[] = {root_id, root_secret};
    const char *null_name[] = {"openpanel-client-id", NULL};
    const char *bad_value[] = {root_id, BAD_UTF8};
    const char *body = "{\"name\":\"Handled\",\"cors\":[\"https://example.com\"]}";
    opc_response *response = UNTOUCHED;
    const char *name = NULL;
    const char *value = NULL;

    CHECK_STATUS(opc_handle(store, "POST", "/manage/projects", names, values, 2,
                            (const uint8_t *)body, strlen(body), &response),
                 OPC_OK);
    CHECK(opc_response_status(response) == 200);
    CHECK_CONTAINS(opc_response_body(response), "\"id\":\"handled\"");
    CHECK_CONTAINS(opc_response_body(response), "\"secret\":\"sec_");
    CHECK(opc_response_body_len(response) == strlen(opc_response_body(response)));
    CHECK_STR(opc_response_header(response, "Content-Type"), "application/json");
    CHECK_STR(opc_response_header(response, "x-ratelimit-limit"), "20");
    CHECK_STR(opc_response_header(response, "x-ratelimit-remaining"), "19");
    CHECK(opc_response_header(response, "retry-after") == NULL);
    CHECK(opc_response_header(response, NULL) == NULL);
    CHECK(opc_response_header(response, BAD_UTF8) == NULL);
    CHECK(opc_response_header_count(response) == 4);
    CHECK_STATUS(opc_response_header_at(response, 0, &name, &value), OPC_OK);
    CHECK_STR(name, "content-type");
    CHECK_STR(value, "application/json");
    name = UNTOUCHED;
    CHECK_STATUS(opc_response_header_at(response, 4, &name, &value), OPC_INVALID_ARGUMENT);
    CHECK_STATUS(opc_response_header_at(NULL, 0, &name, &value), OPC_NULL_ARGUMENT);
    CHECK_STATUS(opc_response_header_at(response, 0, NULL, &value), OPC_NULL_ARGUMENT);
    CHECK_STATUS(opc_response_header_at(response, 0, &name, NULL), OPC_NULL_ARGUMENT);
    CHECK(name == UNTOUCHED);
    opc_response_free(response);

    /* A refused request is still a response. */
    response = NULL;
    CHECK_STATUS(opc_handle(store, "GET", "/manage/projects", NULL, NULL, 0, NULL, 0, &response),
                 OPC_OK);
    CHECK(opc_response_status(response) == 401);
    CHECK_STR(opc_response_body(response),
              "{\"error\":\"Unauthorized\",\"message\":\"Invalid client credentials\"}");
    opc_response_free(response);

    response = NULL;
    CHECK_STATUS(opc_handle_from(store, "203.0.113.7", "GET", "/api/manage/projects/handled",
                                 names, values, 2, NULL, 0, &response),
                 OPC_OK);
    CHECK(opc_response_status(response) == 200);
    CHECK_CONTAINS(opc_response_body(response), "\"cors\":[\"https://example.com\"]");
    opc_response_free(response);

    /* Every pointer argument: NULL and invalid UTF-8. */
    response = UNTOUCHED;
    CHECK_STATUS(opc_handle(NULL, "GET", "/manage/projects", names, values, 2, NULL, 0, &response),
                 OPC_NULL_ARGUMENT);
    CHECK_STATUS(opc_handle(store, NULL, "/manage/projects", names, values, 2, NULL, 0, &response),
                 OPC_NULL_ARGUMENT);
    CHECK_STR(opc_last_error_message(), "method is NULL");
    CHECK_STATUS(
        opc_handle(store, BAD_UTF8, "/manage/projects", names, values, 2, NULL, 0, &response),
        OPC_INVALID_UTF8);
    CHECK_STATUS(opc_handle(store, "GET", NULL, names, values, 2, NULL, 0, &response),
                 OPC_NULL_ARGUMENT);
    CHECK_STATUS(opc_handle(store, "GET", BAD_UTF8, names, values, 2, NULL, 0, &response),
                 OPC_INVALID_UTF8);
    CHECK_STR(opc_last_error_message(), "target is not valid UTF-8");
    CHECK_STATUS(opc_handle(store, "GET", "/manage/projects", NULL, values, 2, NULL, 0, &response),
                 OPC_NULL_ARGUMENT);
    CHECK_STATUS(opc_handle(store, "GET", "/manage/projects", names, NULL, 2, NULL, 0, &response),
                 OPC_NULL_ARGUMENT);
    CHECK_STATUS(
        opc_handle(store, "GET", "/manage/projects", null_name, values, 2, NULL, 0, &response),
        OPC_NULL_ARGUMENT);
    CHECK_STR(opc_last_error_message(), "header_names[1] is NULL");
    CHECK_STATUS(
        opc_handle(store, "GET", "/manage/projects", names, bad_value, 2, NULL, 0, &response),
        OPC_INVALID_UTF8);
    CHECK_STR(opc_last_error_message(), "header_values[1] is not valid UTF-8");
    CHECK_STATUS(
        opc_handle(store, "GET", "/manage/projects", bad_value, values, 2, NULL, 0, &response),
        OPC_INVALID_UTF8);
    CHECK_STATUS(opc_handle(store, "POST", "/manage/projects", names, values, 2, NULL, 5, &response),
                 OPC_NULL_ARGUMENT);
    CHECK_STR(opc_last_error_message(), "body is NULL");
    CHECK_STATUS(opc_handle(store, "GET", "/manage/projects", names, values, 2, NULL, 0, NULL),
                 OPC_NULL_ARGUMENT);
    CHECK_STATUS(opc_handle_from(store, BAD_UTF8, "GET", "/manage/projects", names, values, 2,
                                 NULL, 0, &response),
                 OPC_INVALID_UTF8);
    CHECK_STR(opc_last_error_message(), "source is not valid UTF-8");
    CHECK_STATUS(opc_handle_from(NULL, NULL, "GET", "/manage/projects", names, values, 2, NULL, 0,
                                 &response),
                 OPC_NULL_ARGUMENT);
    CHECK_STATUS(opc_handle_from(store, NULL, NULL, "/manage/projects", names, values, 2, NULL, 0,
                                 &response),
                 OPC_NULL_ARGUMENT);
    CHECK_STATUS(
        opc_handle_from(store, NULL, "GET", NULL, names, values, 2, NULL, 0, &response),
        OPC_NULL_ARGUMENT);
    CHECK_STATUS(opc_handle_from(store, NULL, "GET", "/manage/projects", NULL, values, 2, NULL, 0,
                                 &response),
                 OPC_NULL_ARGUMENT);
    CHECK_STATUS(opc_handle_from(store, NULL, "GET", "/manage/projects", names, NULL, 2, NULL, 0,
                                 &response),
                 OPC_NULL_ARGUMENT);
    CHECK_STATUS(opc_handle_from(store, NULL, "GET", "/manage/projects", names, values, 2, NULL, 1,
                                 &response),
                 OPC_NULL_ARGUMENT);
    CHECK_STATUS(opc_handle_from(store, NULL, "GET", "/manage/projects", names, values, 2, NULL, 0,
                                 NULL),
                 OPC_NULL_ARGUMENT);
    CHECK(response == UNTOUCHED);
    /* The secret never shows up in an error message. */
    CHECK(strstr(opc_last_error_message(), root_secret + 4) == NULL);

    /* Accessors accept NULL. */
    CHECK(opc_response_status(NULL) == 0);
    CHECK(opc_response_body(NULL) == NULL);
    CHECK(opc_response_body_len(NULL) == 0);
    CHECK(opc_response_header(NULL, "content-type") == NULL);
    CHECK(opc_response_header_count(NULL) == 0);
    opc_response_free(NULL);
}

static void test_authenticate(opc_store *store) {
    opc_principal p;
    char *json = NULL;
    char write_id[64];
    char write_secret[64];

    CHECK_STATUS(opc_project_create(store, org_id, "{\"name\":\"Tracked\"}", &json), OPC_OK);
    CHECK(json_field(json, "\"client\"", "id", write_id, sizeof write_id));
    CHECK(json_field(json, "\"client\"", "secret", write_secret, sizeof write_secret));
    opc_string_free(json);

    memset(&p, 0x7f, sizeof p);
    CHECK_STATUS(opc_authenticate(store, OPC_FAMILY_TRACK, write_id, write_secret, NULL, NULL,
                                  "198.51.100.4", &p),
                 OPC_OK);
    CHECK(p.allowed && p.http_status == 200);
    CHECK_STR(p.message, "");
    CHECK(p.client_type == OPC_CLIENT_WRITE);
    CHECK_STR(p.client_id, write_id);
    CHECK_STR(p.organization_id, org_id);
    CHECK_STR(p.client_project_id, "tracked");
    CHECK_STR(p.project_id, "tracked");
    CHECK(p.has_rate_limit && p.rate_limit == 1000 && p.rate_remaining == 999);
    CHECK(!p.has_retry_after);

    CHECK_STATUS(opc_authenticate(store, OPC_FAMILY_MANAGE, root_id, root_secret, NULL, "tracked",
                                  NULL, &p),
                 OPC_OK);
    CHECK(p.allowed && p.client_type == OPC_CLIENT_ROOT);
    CHECK_STR(p.client_project_id, "");
    CHECK_STR(p.project_id, "tracked");

    /* Refusals are decisions: OPC_OK with the response to send. */
    CHECK_STATUS(opc_authenticate(store, OPC_FAMILY_TRACK, write_id, "sec_00", NULL, NULL, NULL, &p),
                 OPC_OK);
    CHECK(!p.allowed && p.http_status == 401);
    CHECK_STR(p.message, "Invalid client credentials");
    CHECK(p.client_type == OPC_CLIENT_NONE);
    CHECK_STR(p.client_id, "");
    CHECK(!p.has_rate_limit);
    CHECK_STR(opc_last_error_message(), "");
    CHECK_STATUS(opc_authenticate(store, OPC_FAMILY_EXPORT, write_id, write_secret, NULL, NULL,
                                  NULL, &p),
                 OPC_OK);
    CHECK(!p.allowed && p.http_status == 401);
    CHECK_STR(p.message, "Export: Client is not allowed to export");
    CHECK_STATUS(opc_authenticate(store, OPC_FAMILY_TRACK, "nope", NULL, NULL, NULL, NULL, &p),
                 OPC_OK);
    CHECK_STR(p.message, "Malformed client ID (must be a valid UUIDv4)");
    CHECK_STATUS(opc_authenticate(store, OPC_FAMILY_TRACK, NULL, NULL, NULL, NULL, NULL, &p),
                 OPC_OK);
    CHECK(!p.allowed && p.http_status == 401);

    /* No decision: bad arguments leave the principal untouched. */
    memset(&p, 0x7f, sizeof p);
    CHECK_STATUS(opc_authenticate(NULL, OPC_FAMILY_TRACK, write_id, write_secret, NULL, NULL, NULL,
                                  &p),
                 OPC_NULL_ARGUMENT);
    CHECK_STATUS(opc_authenticate(store, (opc_family)7, write_id, write_secret, NULL, NULL, NULL,
                                  &p),
                 OPC_INVALID_ARGUMENT);
    CHECK_CONTAINS(opc_last_error_message(), "family 7 is not an opc_family");
    CHECK_STATUS(opc_authenticate(store, OPC_FAMILY_TRACK, BAD_UTF8, write_secret, NULL, NULL,
                                  NULL, &p),
                 OPC_INVALID_UTF8);
    CHECK_STR(opc_last_error_message(), "client_id is not valid UTF-8");
    CHECK_STATUS(opc_authenticate(store, OPC_FAMILY_TRACK, write_id, BAD_UTF8, NULL, NULL, NULL,
                                  &p),
                 OPC_INVALID_UTF8);
    CHECK_STR(opc_last_error_message(), "client_secret is not valid UTF-8");
    CHECK_STATUS(opc_authenticate(store, OPC_FAMILY_TRACK, write_id, write_secret, BAD_UTF8, NULL,
                                  NULL, &p),
                 OPC_INVALID_UTF8);
    CHECK_STATUS(opc_authenticate(store, OPC_FAMILY_TRACK, write_id, write_secret, NULL, BAD_UTF8,
                                  NULL, &p),
                 OPC_INVALID_UTF8);
    CHECK_STATUS(opc_authenticate(store, OPC_FAMILY_TRACK, write_id, write_secret, NULL, NULL,
                                  BAD_UTF8, &p),
                 OPC_INVALID_UTF8);
    CHECK_STR(opc_last_error_message(), "source is not valid UTF-8");
    CHECK_STATUS(opc_authenticate(store, OPC_FAMILY_TRACK, write_id, write_secret, NULL, NULL,
                                  NULL, NULL),
                 OPC_NULL_ARGUMENT);
    CHECK_STR(opc_last_error_message(), "out_principal is NULL");
    CHECK(p.http_status == 0x7f7f);
}

/* OAuth: opc_authorize, the token endpoint through opc_handle, opc_token_verify. */
#define VERIFIER "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
#define CHALLENGE "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
#define REDIRECT "https://app.example.com/cb"

static opc_response *post_form(opc_store *store, const char *target, const char *body) {
    const char *names[] = {"content-type"};
    const char *values[] = {"application/x-www-form-urlencoded"};
    opc_response *response = NULL;
    CHECK_STATUS(opc_handle(store, "POST", target, names, values, 1, (const uint8_t *)body,
                            strlen(body), &response),
                 OPC_OK);
    return response;
}

static void test_oauth(opc_store *store) {
    const char *app_json = "{\"name\":\"App\",\"type\":\"root\",\"redirectUris\":[\"" REDIRECT "\"]}";
    char app_id[64];
    char app_secret[64];
    char code[128];
    char access[128];
    char body[1024];
    char bearer[160];
    char *json = NULL;
    char *url = UNTOUCHED;
    const char *start;
    opc_response *response;
    opc_token_info info;
    const char *auth_name[] = {"authorization"};
    const char *auth_value[] = {bearer};

    CHECK_STATUS(opc_client_create(store, org_id, app_json, &json), OPC_OK);
    CHECK_CONTAINS(json, "\"redirectUris\":[\"" REDIRECT "\"]");
    CHECK_CONTAINS(json, "\"tier\":null");
    CHECK(json_field(json, NULL, "id", app_id, sizeof app_id));
    CHECK(json_field(json, NULL, "secret", app_secret, sizeof app_secret));
    opc_string_free(json);

    /* A code, exchanged at the token endpoint for tokens. */
    CHECK_STATUS(opc_authorize(store, app_id, REDIRECT, NULL, CHALLENGE, "S256", "xyz", "user-42",
                               &url),
                 OPC_OK);
    CHECK_CONTAINS(url, REDIRECT "?code=opac_");
    CHECK_CONTAINS(url, "&state=xyz");
    start = strstr(url, "code=");
    CHECK(start != NULL && strlen(start) > 5 + 77);
    if (start == NULL) return;
    memcpy(code, start + 5, 77);
    code[77] = '\0';
    opc_string_free(url);
    snprintf(body, sizeof body,
             "grant_type=authorization_code&code=%s&redirect_uri=https%%3A%%2F%%2Fapp.example.com"
             "%%2Fcb&code_verifier=" VERIFIER "&client_id=%s&client_secret=%s",
             code, app_id, app_secret);
    response = post_form(store, "/oauth/token", body);
    CHECK(opc_response_status(response) == 200);
    CHECK_STR(opc_response_header(response, "cache-control"), "no-store");
    CHECK_CONTAINS(opc_response_body(response), "\"token_type\":\"Bearer\"");
    CHECK_CONTAINS(opc_response_body(response), "\"refresh_token\":\"oprt_");
    CHECK(json_field(opc_response_body(response), NULL, "access_token", access, sizeof access));
    opc_response_free(response);
    /* The code is single-use. */
    response = post_form(store, "/oauth/token", body);
    CHECK(opc_response_status(response) == 400);
    CHECK_CONTAINS(opc_response_body(response), "\"error\":\"invalid_grant\"");
    opc_response_free(response);
    /* ...and replaying it revoked the tokens issued from it. */
    memset(&info, 0x7f, sizeof info);
    CHECK_STATUS(opc_token_verify(store, access, &info), OPC_OK);
    CHECK(!info.active && info.http_status == 401);
    CHECK_STR(info.error, "invalid_api_key");
    CHECK_STR(info.message, "The API key provided is invalid.");
    CHECK(info.client_type == OPC_CLIENT_NONE);
    CHECK_STR(info.client_id, "");

    /* A fresh grant: the token verifies, with what it proves, and works on the Manage API. */
    CHECK_STATUS(opc_authorize(store, app_id, REDIRECT, "manage", CHALLENGE, "S256", NULL,
                               "user-42", &url),
                 OPC_OK);
    start = strstr(url, "code=");
    CHECK(start != NULL && strlen(start) == 5 + 77);
    if (start == NULL) return;
    memcpy(code, start + 5, 77);
    code[77] = '\0';
    opc_string_free(url);
    snprintf(body, sizeof body,
             "grant_type=authorization_code&code=%s&redirect_uri=https%%3A%%2F%%2Fapp.example.com"
             "%%2Fcb&code_verifier=" VERIFIER "&client_id=%s&client_secret=%s",
             code, app_id, app_secret);
    response = post_form(store, "/oauth/token", body);
    CHECK(opc_response_status(response) == 200);
    CHECK(json_field(opc_response_body(response), NULL, "access_token", access, sizeof access));
    opc_response_free(response);
    memset(&info, 0, sizeof info);
    CHECK_STATUS(opc_token_verify(store, access, &info), OPC_OK);
    CHECK(info.active && info.http_status == 200);
    CHECK_STR(info.error, "");
    CHECK_STR(info.message, "");
    CHECK(info.client_type == OPC_CLIENT_ROOT);
    CHECK_STR(info.client_id, app_id);
    CHECK_STR(info.organization_id, org_id);
    CHECK_STR(info.client_project_id, "");
    CHECK_STR(info.scope, "manage");
    CHECK_STR(info.subject, "user-42");
    CHECK(info.expires_at - info.issued_at == 3600);
    snprintf(bearer, sizeof bearer, "Bearer %s", access);
    response = NULL;
    CHECK_STATUS(opc_handle(store, "GET", "/manage/projects", auth_name, auth_value, 1, NULL, 0,
                            &response),
                 OPC_OK);
    CHECK(opc_response_status(response) == 200);
    opc_response_free(response);
    /* Revoked: invalid from then on. */
    snprintf(body, sizeof body, "token=%s&client_id=%s&client_secret=%s", access, app_id,
             app_secret);
    response = post_form(store, "/oauth/revoke", body);
    CHECK(opc_response_status(response) == 200);
    opc_response_free(response);
    CHECK_STATUS(opc_token_verify(store, access, &info), OPC_OK);
    CHECK(!info.active);
    CHECK_STR(info.error, "invalid_api_key");
    CHECK_STATUS(opc_token_verify(store, NULL, &info), OPC_OK);
    CHECK(!info.active && info.http_status == 401);
    CHECK_STR(info.error, "missing_api_key");
    CHECK_STR(info.message, "No API key provided in the Authorization header.");
    CHECK_STATUS(opc_token_verify(store, "opat_nope", &info), OPC_OK);
    CHECK_STR(info.error, "invalid_api_key");
    CHECK_STATUS(opc_token_verify(store, root_secret, &info), OPC_OK);
    CHECK_STR(info.error, "invalid_api_key");

    /* The app's own mistakes come back to it by redirect... */
    url = UNTOUCHED;
    CHECK_STATUS(opc_authorize(store, app_id, REDIRECT, NULL, CHALLENGE, "plain", "xyz", "user-42",
                               &url),
                 OPC_OK);
    CHECK_STR(url, REDIRECT "?error=invalid_request&error_description=code_challenge_method+must"
                   "+be+S256&state=xyz");
    opc_string_free(url);
    /* ...but an unregistered redirect URI or an unknown client is never redirected to. */
    url = UNTOUCHED;
    CHECK_STATUS(opc_authorize(store, app_id, REDIRECT "/", NULL, CHALLENGE, "S256", "xyz",
                               "user-42", &url),
                 OPC_INVALID_INPUT);
    CHECK_STR(opc_last_error_message(), "redirect_uri is not registered for this client");
    CHECK_STATUS(opc_authorize(store, root_id, REDIRECT, NULL, CHALLENGE, "S256", "xyz", "user-42",
                               &url),
                 OPC_INVALID_INPUT);
    CHECK_STATUS(opc_authorize(store, "00000000-0000-4000-8000-000000000000", REDIRECT, NULL,
                               CHALLENGE, "S256", NULL, "user-42", &url),
                 OPC_NOT_FOUND);
    CHECK_STATUS(opc_authorize(store, app_id, REDIRECT, NULL, CHALLENGE, "S256", NULL, "", &url),
                 OPC_INVALID_INPUT);
    CHECK_STR(opc_last_error_message(), "subject must be 1 to 255 characters");

    /* Every pointer argument: NULL (where required) and invalid UTF-8. */
    CHECK_STATUS(opc_authorize(NULL, app_id, REDIRECT, NULL, CHALLENGE, "S256", NULL, "u", &url),
                 OPC_NULL_ARGUMENT);
    CHECK_STATUS(opc_authorize(store, NULL, REDIRECT, NULL, CHALLENGE, "S256", NULL, "u", &url),
                 OPC_NULL_ARGUMENT);
    CHECK_STR(opc_last_error_message(), "client_id is NULL");
    CHECK_STATUS(opc_authorize(store, app_id, NULL, NULL, CHALLENGE, "S256", NULL, "u", &url),
                 OPC_NULL_ARGUMENT);
    CHECK_STATUS(opc_authorize(store, app_id, REDIRECT, NULL, NULL, "S256", NULL, "u", &url),
                 OPC_NULL_ARGUMENT);
    CHECK_STATUS(opc_authorize(store, app_id, REDIRECT, NULL, CHALLENGE, NULL, NULL, "u", &url),
                 OPC_NULL_ARGUMENT);
    CHECK_STATUS(opc_authorize(store, app_id, REDIRECT, NULL, CHALLENGE, "S256", NULL, NULL, &url),
                 OPC_NULL_ARGUMENT);
    CHECK_STR(opc_last_error_message(), "subject is NULL");
    CHECK_STATUS(opc_authorize(store, app_id, REDIRECT, NULL, CHALLENGE, "S256", NULL, "u", NULL),
                 OPC_NULL_ARGUMENT);
    CHECK_STR(opc_last_error_message(), "out_redirect_url is NULL");
    CHECK_STATUS(opc_authorize(store, BAD_UTF8, REDIRECT, NULL, CHALLENGE, "S256", NULL, "u", &url),
                 OPC_INVALID_UTF8);
    CHECK_STATUS(opc_authorize(store, app_id, BAD_UTF8, NULL, CHALLENGE, "S256", NULL, "u", &url),
                 OPC_INVALID_UTF8);
    CHECK_STATUS(opc_authorize(store, app_id, REDIRECT, BAD_UTF8, CHALLENGE, "S256", NULL, "u",
                               &url),
                 OPC_INVALID_UTF8);
    CHECK_STR(opc_last_error_message(), "scope is not valid UTF-8");
    CHECK_STATUS(opc_authorize(store, app_id, REDIRECT, NULL, BAD_UTF8, "S256", NULL, "u", &url),
                 OPC_INVALID_UTF8);
    CHECK_STATUS(opc_authorize(store, app_id, REDIRECT, NULL, CHALLENGE, BAD_UTF8, NULL, "u", &url),
                 OPC_INVALID_UTF8);
    CHECK_STATUS(opc_authorize(store, app_id, REDIRECT, NULL, CHALLENGE, "S256", BAD_UTF8, "u",
                               &url),
                 OPC_INVALID_UTF8);
    CHECK_STR(opc_last_error_message(), "state is not valid UTF-8");
    CHECK_STATUS(opc_authorize(store, app_id, REDIRECT, NULL, CHALLENGE, "S256", NULL, BAD_UTF8,
                               &url),
                 OPC_INVALID_UTF8);
    CHECK(url == UNTOUCHED);

    memset(&info, 0x7f, sizeof info);
    CHECK_STATUS(opc_token_verify(NULL, access, &info), OPC_NULL_ARGUMENT);
    CHECK_STATUS(opc_token_verify(store, BAD_UTF8, &info), OPC_INVALID_UTF8);
    CHECK_STR(opc_last_error_message(), "token is not valid UTF-8");
    CHECK_STATUS(opc_token_verify(store, access, NULL), OPC_NULL_ARGUMENT);
    CHECK_STR(opc_last_error_message(), "out_info is NULL");
    CHECK(info.http_status == 0x7f7f);
    /* Neither the secret nor a token shows up in an error message. */
    CHECK(strstr(opc_last_error_message(), app_secret + 4) == NULL);
    CHECK(strstr(opc_last_error_message(), access + 5) == NULL);

    /* The app goes away (it would otherwise count as a root client of the organization). */
    CHECK_STATUS(opc_client_delete(store, org_id, app_id), OPC_OK);
    CHECK_STATUS(opc_authorize(store, app_id, REDIRECT, NULL, CHALLENGE, "S256", NULL, "u", &url),
                 OPC_NOT_FOUND);
}

static void test_projects(opc_store *store) {
    char *json = UNTOUCHED;
    int64_t count = -1;
    size_t purged = 99;

    CHECK_STATUS(opc_project_create(store, org_id, "{\"name\":\"My Project\",\"types\":[\"app\"]}",
                                    &json),
                 OPC_OK);
    CHECK_CONTAINS(json, "\"id\":\"my-project\"");
    CHECK_CONTAINS(json, "\"types\":[\"app\"]");
    CHECK_CONTAINS(json, "\"client\":{\"id\":\"");
    opc_string_free(json);

    json = UNTOUCHED;
    CHECK_STATUS(opc_project_create(store, org_id, "{\"name\":\"\",\"cors\":[\"http://\"]}", &json),
                 OPC_INVALID_INPUT);
    CHECK_CONTAINS(opc_last_error_message(), "name");
    CHECK_CONTAINS(opc_last_error_message(), "cors[0]");
    CHECK_STATUS(opc_project_create(store, org_id, "[]", &json), OPC_INVALID_INPUT);
    CHECK_STR(opc_last_error_message(), "invalid input: Expected object, received array");
    CHECK_STATUS(opc_project_create(store, "elsewhere", "{\"name\":\"X\"}", &json), OPC_NOT_FOUND);
    CHECK(json == UNTOUCHED);
    arguments_out2("opc_project_create", opc_project_create, store, org_id, "{\"name\":\"N\"}", 0);

    CHECK_STATUS(opc_project_get(store, org_id, "my-project", &json), OPC_OK);
    CHECK_CONTAINS(json, "\"name\":\"My Project\"");
    CHECK(strstr(json, "sec_") == NULL);
    opc_string_free(json);
    json = UNTOUCHED;
    CHECK_STATUS(opc_project_get(store, org_id, "unknown", &json), OPC_NOT_FOUND);
    CHECK_STR(opc_last_error_message(), "Project not found");
    arguments_out2("opc_project_get", opc_project_get, store, org_id, "my-project", 0);

    CHECK_STATUS(opc_project_list(store, org_id, &json), OPC_OK);
    CHECK_CONTAINS(json, "\"id\":\"my-project\"");
    CHECK(strstr(json, "\"id\":\"n\"") == NULL); /* refused calls created nothing */
    opc_string_free(json);
    arguments_out1("opc_project_list", opc_project_list, store, org_id);

    CHECK_STATUS(opc_project_update(store, org_id, "my-project", "{\"name\":\"Renamed\"}", &json),
                 OPC_OK);
    CHECK_CONTAINS(json, "\"id\":\"my-project\",\"name\":\"Renamed\"");
    opc_string_free(json);
    json = UNTOUCHED;
    CHECK_STATUS(opc_project_update(store, org_id, "my-project", "{\"domain\":\"ftp://x\"}", &json),
                 OPC_INVALID_INPUT);
    CHECK(json == UNTOUCHED);
    arguments_out3("opc_project_update", opc_project_update, store, org_id, "my-project",
                   "{\"crossDomain\":true}");

    CHECK_STATUS(opc_project_events_increment(store, org_id, "my-project", 3, &count), OPC_OK);
    CHECK(count == 3);
    CHECK_STATUS(opc_project_events_increment(store, org_id, "my-project", 4, &count), OPC_OK);
    CHECK(count == 7);
    count = -1;
    CHECK_STATUS(opc_project_events_increment(NULL, org_id, "my-project", 1, &count),
                 OPC_NULL_ARGUMENT);
    CHECK_STATUS(opc_project_events_increment(store, NULL, "my-project", 1, &count),
                 OPC_NULL_ARGUMENT);
    CHECK_STATUS(opc_project_events_increment(store, BAD_UTF8, "my-project", 1, &count),
                 OPC_INVALID_UTF8);
    CHECK_STATUS(opc_project_events_increment(store, org_id, NULL, 1, &count), OPC_NULL_ARGUMENT);
    CHECK_STATUS(opc_project_events_increment(store, org_id, BAD_UTF8, 1, &count),
                 OPC_INVALID_UTF8);
    CHECK_STATUS(opc_project_events_increment(store, org_id, "my-project", 1, NULL),
                 OPC_NULL_ARGUMENT);
    CHECK_STATUS(opc_project_events_increment(store, org_id, "unknown", 1, &count), OPC_NOT_FOUND);
    CHECK(count == -1);

    /* The store was opened with a grace of 0 s: a deleted project is gone at once. */
    CHECK_STATUS(opc_project_delete(store, org_id, "my-project"), OPC_OK);
    json = UNTOUCHED;
    CHECK_STATUS(opc_project_get(store, org_id, "my-project", &json), OPC_NOT_FOUND);
    CHECK_STATUS(opc_project_delete(store, org_id, "my-project"), OPC_NOT_FOUND);
    arguments_del("opc_project_delete", opc_project_delete, store, org_id, "my-project");
    CHECK_STATUS(opc_purge(store, &purged), OPC_OK);
    CHECK(purged == 1);
    CHECK_STATUS(opc_purge(store, &purged), OPC_OK);
    CHECK(purged == 0);
    purged = 99;
    CHECK_STATUS(opc_purge(NULL, &purged), OPC_NULL_ARGUMENT);
    CHECK_STATUS(opc_purge(store, NULL), OPC_NULL_ARGUMENT);
    CHECK(purged == 99);
}

static void test_clients(opc_store *store) {
    char *json = UNTOUCHED;
    char id[64];
    char secret[64];
    opc_principal p;

    CHECK_STATUS(opc_project_create(store, org_id, "{\"name\":\"Web\"}", &json), OPC_OK);
    opc_string_free(json);

    CHECK_STATUS(opc_client_create(store, org_id,
                                   "{\"name\":\"Kiosk\",\"projectId\":\"web\","
                                   "\"ignoreCorsAndSecret\":true}",
                                   &json),
                 OPC_OK);
    CHECK(json_field(json, NULL, "id", id, sizeof id));
    CHECK(json_field(json, NULL, "secret", secret, sizeof secret));
    CHECK_CONTAINS(json, "\"ignoreCorsAndSecret\":true");
    CHECK_CONTAINS(json, "\"type\":\"write\"");
    opc_string_free(json);
    CHECK_STATUS(opc_authenticate(store, OPC_FAMILY_TRACK, id, NULL, NULL, NULL, NULL, &p), OPC_OK);
    CHECK(p.allowed);

    json = UNTOUCHED;
    CHECK_STATUS(opc_client_create(store, org_id, "{\"name\":\"X\",\"type\":\"admin\"}", &json),
                 OPC_INVALID_INPUT);
    CHECK_CONTAINS(opc_last_error_message(), "type");
    CHECK_STATUS(opc_client_create(store, org_id, "{\"name\":\"X\",\"ignoreCorsAndSecret\":1}",
                                   &json),
                 OPC_INVALID_INPUT);
    CHECK_CONTAINS(opc_last_error_message(), "ignoreCorsAndSecret: Expected boolean");
    CHECK(json == UNTOUCHED);
    arguments_out2("opc_client_create", opc_client_create, store, org_id, "{\"name\":\"N\"}", 0);

    CHECK_STATUS(opc_client_get(store, org_id, id, &json), OPC_OK);
    CHECK_CONTAINS(json, "\"name\":\"Kiosk\"");
    CHECK(strstr(json, secret) == NULL);
    opc_string_free(json);
    json = UNTOUCHED;
    CHECK_STATUS(opc_client_get(store, org_id, "not-a-uuid", &json), OPC_NOT_FOUND);
    CHECK_STR(opc_last_error_message(), "Client not found");
    arguments_out2("opc_client_get", opc_client_get, store, org_id, id, 0);

    CHECK_STATUS(opc_client_list(store, org_id, "web", &json), OPC_OK);
    CHECK_CONTAINS(json, "\"name\":\"Kiosk\"");
    CHECK(strstr(json, "\"name\":\"Root client\"") == NULL);
    opc_string_free(json);
    CHECK_STATUS(opc_client_list(store, org_id, NULL, &json), OPC_OK);
    CHECK_CONTAINS(json, "\"name\":\"Root client\"");
    CHECK(strstr(json, "sec_") == NULL);
    opc_string_free(json);
    arguments_out2("opc_client_list", opc_client_list, store, org_id, "web", 1);

    CHECK_STATUS(opc_client_update(store, org_id, id, "{\"name\":\"Kiosk 2\",\"type\":\"write\"}",
                                   &json),
                 OPC_OK);
    CHECK_CONTAINS(json, "\"name\":\"Kiosk 2\"");
    opc_string_free(json);
    json = UNTOUCHED;
    CHECK_STATUS(opc_client_update(store, org_id, id, "{\"type\":\"root\"}", &json),
                 OPC_INVALID_INPUT);
    CHECK(json == UNTOUCHED);
    arguments_out3("opc_client_update", opc_client_update, store, org_id, id, "{\"name\":\"K\"}");

    CHECK_STATUS(opc_client_delete(store, org_id, id), OPC_OK);
    CHECK_STATUS(opc_authenticate(store, OPC_FAMILY_TRACK, id, secret, NULL, NULL, NULL, &p),
                 OPC_OK);
    CHECK(!p.allowed && p.http_status == 401);
    CHECK_STATUS(opc_client_delete(store, org_id, id), OPC_NOT_FOUND);
    CHECK_STATUS(opc_client_delete(store, org_id, root_id), OPC_CONFLICT);
    CHECK_STR(opc_last_error_message(), "Cannot delete the last root client of the organization");
    arguments_del("opc_client_delete", opc_client_delete, store, org_id, id);
}

/* Rotation, expiry and last use (docs/lifecycle.md). The grace's end at its instant needs an
 * injected clock and is shown in tests/lifecycle.rs and tests/lifecycle_http.rs; here: both
 * secrets during a grace, a second rotation ending it at once, the errors, the expiry message
 * only for the right secret, and lastUsedAt. */
static void test_rotation(opc_store *store) {
    char *json = UNTOUCHED;
    char id[64];
    char first[64];
    char second[64];
    char third[64];
    opc_principal p;
    const char *wrong = "sec_0123456789abcdef0123456789abcdef";

    CHECK_STATUS(opc_client_create(store, org_id, "{\"name\":\"Rotated\",\"type\":\"read\"}",
                                   &json),
                 OPC_OK);
    CHECK(json_field(json, NULL, "id", id, sizeof id));
    CHECK(json_field(json, NULL, "secret", first, sizeof first));
    CHECK_CONTAINS(json, "\"expiresAt\":null");
    CHECK_CONTAINS(json, "\"lastUsedAt\":null");
    opc_string_free(json);

    CHECK_STATUS(opc_client_rotate(store, org_id, id, "{\"graceSeconds\":3600}", &json), OPC_OK);
    CHECK(json_field(json, NULL, "secret", second, sizeof second));
    CHECK(strcmp(first, second) != 0);
    CHECK(strstr(json, first) == NULL);
    CHECK_CONTAINS(json, "\"previousSecretExpiresAt\":\"");
    CHECK_CONTAINS(json, "\"name\":\"Rotated\"");
    opc_string_free(json);
    CHECK_STATUS(opc_authenticate(store, OPC_FAMILY_EXPORT, id, first, NULL, NULL, NULL, &p),
                 OPC_OK);
    CHECK(p.allowed);
    CHECK_STATUS(opc_authenticate(store, OPC_FAMILY_EXPORT, id, second, NULL, NULL, NULL, &p),
                 OPC_OK);
    CHECK(p.allowed);

    /* Rotating again, without grace: both earlier secrets stop at once. */
    CHECK_STATUS(opc_client_rotate(store, org_id, id, "", &json), OPC_OK);
    CHECK(json_field(json, NULL, "secret", third, sizeof third));
    CHECK_CONTAINS(json, "\"previousSecretExpiresAt\":null");
    opc_string_free(json);
    CHECK_STATUS(opc_authenticate(store, OPC_FAMILY_EXPORT, id, first, NULL, NULL, NULL, &p),
                 OPC_OK);
    CHECK(!p.allowed && p.http_status == 401);
    CHECK_STR(p.message, "Invalid client credentials");
    CHECK_STATUS(opc_authenticate(store, OPC_FAMILY_EXPORT, id, second, NULL, NULL, NULL, &p),
                 OPC_OK);
    CHECK(!p.allowed && p.http_status == 401);
    CHECK_STATUS(opc_authenticate(store, OPC_FAMILY_EXPORT, id, third, NULL, NULL, NULL, &p),
                 OPC_OK);
    CHECK(p.allowed);

    json = UNTOUCHED;
    CHECK_STATUS(opc_client_rotate(store, org_id, id, "{\"graceSeconds\":2592001}", &json),
                 OPC_INVALID_INPUT);
    CHECK_STR(opc_last_error_message(),
              "invalid input: graceSeconds: Expected an integer from 0 to 2592000 (seconds)");
    CHECK_STATUS(opc_client_rotate(store, org_id, id, "{\"graceSeconds\":\"1\"}", &json),
                 OPC_INVALID_INPUT);
    CHECK_CONTAINS(opc_last_error_message(), "graceSeconds: Expected number, received string");
    CHECK_STATUS(opc_client_rotate(store, org_id, "0b7e0c1e-5a9b-4d43-9c55-8f0e4a1f2b3c", "{}",
                                   &json),
                 OPC_NOT_FOUND);
    CHECK_STR(opc_last_error_message(), "Client not found");
    CHECK(json == UNTOUCHED);
    arguments_out3("opc_client_rotate", opc_client_rotate, store, org_id, id, "{}");
    /* The refusals rotated nothing. */
    CHECK_STATUS(opc_authenticate(store, OPC_FAMILY_EXPORT, id, third, NULL, NULL, NULL, &p),
                 OPC_OK);
    CHECK(p.allowed);

    /* Used: lastUsedAt is set, and no read shows a secret. */
    CHECK_STATUS(opc_client_get(store, org_id, id, &json), OPC_OK);
    CHECK(strstr(json, "\"lastUsedAt\":null") == NULL);
    CHECK_CONTAINS(json, "\"lastUsedAt\":\"");
    CHECK(strstr(json, "sec_") == NULL);
    opc_string_free(json);

    /* Expiry: a past expiresAt is refused on create, accepted by an update (expired now). */
    json = UNTOUCHED;
    CHECK_STATUS(opc_client_create(store, org_id, "{\"name\":\"Old\",\"expiresAt\":\"2000-01-01\"}",
                                   &json),
                 OPC_INVALID_INPUT);
    CHECK_CONTAINS(opc_last_error_message(), "expiresAt: Must be in the future");
    CHECK(json == UNTOUCHED);
    CHECK_STATUS(opc_client_update(store, org_id, id, "{\"expiresAt\":\"2000-01-01\"}", &json),
                 OPC_OK);
    CHECK_CONTAINS(json, "\"expiresAt\":\"2000-01-01T00:00:00.000Z\"");
    opc_string_free(json);
    CHECK_STATUS(opc_authenticate(store, OPC_FAMILY_EXPORT, id, third, NULL, NULL, NULL, &p),
                 OPC_OK);
    CHECK(!p.allowed && p.http_status == 401);
    CHECK_STR(p.message, "Client credentials expired");
    CHECK_STATUS(opc_authenticate(store, OPC_FAMILY_EXPORT, id, wrong, NULL, NULL, NULL, &p),
                 OPC_OK);
    CHECK(!p.allowed && p.http_status == 401);
    CHECK_STR(p.message, "Invalid client credentials");
    CHECK_STATUS(opc_client_update(store, org_id, id, "{\"expiresAt\":null}", &json), OPC_OK);
    CHECK_CONTAINS(json, "\"expiresAt\":null");
    opc_string_free(json);
    CHECK_STATUS(opc_authenticate(store, OPC_FAMILY_EXPORT, id, third, NULL, NULL, NULL, &p),
                 OPC_OK);
    CHECK(p.allowed);
    CHECK_STATUS(opc_client_delete(store, org_id, id), OPC_OK);
}

static void test_references(opc_store *store) {
    char *json = UNTOUCHED;
    char id[64];

    CHECK_STATUS(opc_reference_create(store, org_id,
                                      "{\"projectId\":\"web\",\"title\":\"Launch\","
                                      "\"datetime\":\"2024-01-15T10:30:00+02:00\"}",
                                      &json),
                 OPC_OK);
    CHECK(json_field(json, NULL, "id", id, sizeof id));
    CHECK_CONTAINS(json, "\"date\":\"2024-01-15T08:30:00.000Z\"");
    opc_string_free(json);
    json = UNTOUCHED;
    CHECK_STATUS(opc_reference_create(store, org_id, "{\"projectId\":\"web\",\"title\":\"T\","
                                                     "\"datetime\":\"soon\"}",
                                      &json),
                 OPC_INVALID_INPUT);
    CHECK_CONTAINS(opc_last_error_message(), "datetime");
    CHECK(json == UNTOUCHED);
    arguments_out2("opc_reference_create", opc_reference_create, store, org_id,
                   "{\"projectId\":\"web\",\"title\":\"N\"}", 0);

    CHECK_STATUS(opc_reference_get(store, org_id, id, &json), OPC_OK);
    CHECK_CONTAINS(json, "\"title\":\"Launch\"");
    opc_string_free(json);
    arguments_out2("opc_reference_get", opc_reference_get, store, org_id, id, 0);

    CHECK_STATUS(opc_reference_list(store, org_id, "web", &json), OPC_OK);
    CHECK_CONTAINS(json, "\"title\":\"Launch\"");
    CHECK(strstr(json, "\"title\":\"N\"") == NULL);
    opc_string_free(json);
    json = UNTOUCHED;
    CHECK_STATUS(opc_reference_list(store, org_id, "gone", &json), OPC_NOT_FOUND);
    CHECK(json == UNTOUCHED);
    arguments_out2("opc_reference_list", opc_reference_list, store, org_id, "web", 1);

    CHECK_STATUS(opc_reference_update(store, org_id, id, "{\"description\":\"Big day\"}", &json),
                 OPC_OK);
    CHECK_CONTAINS(json, "\"description\":\"Big day\"");
    opc_string_free(json);
    arguments_out3("opc_reference_update", opc_reference_update, store, org_id, id,
                   "{\"title\":\"T\"}");

    CHECK_STATUS(opc_reference_delete(store, org_id, id), OPC_OK);
    CHECK_STATUS(opc_reference_delete(store, org_id, id), OPC_NOT_FOUND);
    CHECK_STR(opc_last_error_message(), "Reference not found");
    arguments_del("opc_reference_delete", opc_reference_delete, store, org_id, id);
}

static void test_panic(void) {
#ifdef OPCORE_TEST_PANIC
    CHECK_STATUS(opc_test_panic(), OPC_PANIC);
    CHECK_STR(opc_last_error_message(),
              "opc_test_panic: internal error (a panic was caught at the C boundary); please "
              "report it");
    CHECK_STR(opc_status_str(OPC_PANIC), "internal error (panic caught)");
#endif
}

int main(int argc, char **argv) {
    char path[4096];
    opc_store *store;
    opc_store *reopened = NULL;
    char *json = NULL;
    char options[256];

    if (argc != 2) {
        fprintf(stderr, "usage: %s <scratch-directory>\n", argv[0]);
        return 2;
    }
    test_version_and_statuses();
    test_open_failures(argv[1]);

    snprintf(path, sizeof path, "%s/abi.db", argv[1]);
    remove(path);
    snprintf(options, sizeof options,
             "{\"argon2\":{\"m_cost\":8,\"t_cost\":1,\"p_cost\":1},\"deletion_grace_seconds\":0}");
    store = NULL;
    CHECK_STATUS(opc_store_open(path, options, &store), OPC_OK);
    if (store == NULL) return finish("abi");

    test_organizations(store);
    test_handle(store);
    test_authenticate(store);
    test_oauth(store);
    test_projects(store);
    test_clients(store);
    test_rotation(store);
    test_references(store);

    /* Close and reopen: the data is on disk; two handles may share one file. */
    opc_store_close(store);
    store = open_store(path);
    reopened = open_store(path);
    CHECK_STATUS(opc_project_get(store, org_id, "web", &json), OPC_OK);
    opc_string_free(json);
    CHECK_STATUS(opc_project_get(reopened, org_id, "handled", &json), OPC_OK);
    CHECK_CONTAINS(json, "\"name\":\"Handled\"");
    opc_string_free(json);
    opc_store_close(reopened);
    opc_store_close(store);

    test_panic();
    return finish("abi");
}
