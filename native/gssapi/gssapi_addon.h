/*
 * Shared declarations of the GSS-API addon (RFC 2743 calls over MIT's libgssapi_krb5, for RFC 4462
 * gssapi-with-mic). Handles (names, credentials, security contexts) are JavaScript objects wrapping a small
 * C box, type-tagged so that one kind can never be passed where another is expected, and released by a
 * finalizer when the JavaScript side forgets them (or earlier by the release functions).
 */
#ifndef TETHER_GSSAPI_ADDON_H
#define TETHER_GSSAPI_ADDON_H

#define NAPI_VERSION 8
#include "tether_addon.h"
#include <gssapi/gssapi.h>
#include <gssapi/gssapi_krb5.h>
#include <gssapi/gssapi_ext.h>

#define CHECK(call)                                                                  \
  do {                                                                               \
    if ((call) != napi_ok) {                                                         \
      throw_napi_failure(env, #call);                                                \
      return NULL;                                                                   \
    }                                                                                \
  } while (0)

/* The longest status text kept: MIT's minor messages name the ccache or keytab, rarely over 200 bytes. */
#define STATUS_TEXT_MAX 512

typedef struct {
  gss_name_t name;
} NameBox;

typedef struct {
  gss_cred_id_t cred;
  /* Pending thread-pool calls using this credential: it is not released while any runs. */
  int users;
} CredBox;

typedef struct {
  gss_ctx_id_t ctx;
  /* Set while an init/accept call runs on the thread pool: the context must not be touched meanwhile. */
  int busy;
} ContextBox;

/* The GSS-API status of a failed call, rendered where it happened (MIT keeps the detailed minor message in
 * thread-local storage, so it must be read on the thread that made the call). */
typedef struct {
  OM_uint32 major;
  OM_uint32 minor;
  char major_text[STATUS_TEXT_MAX];
  char minor_text[STATUS_TEXT_MAX];
} GssStatus;

void throw_napi_failure(napi_env env, const char *call);
void throw_type_error(napi_env env, const char *message);
/* Copies a JavaScript string into `out`; 0 (with a TypeError thrown) when it is not a string, does not fit, or holds a NUL. */
int get_string(napi_env env, napi_value value, char *out, size_t size);
/* Fills status->*_text with gss_display_status output (all messages joined by "; "). */
void render_status(GssStatus *status, OM_uint32 major, OM_uint32 minor);
/* An Error (code "ERR_GSSAPI") with major, minor, majorText, minorText properties, and `token` if given. */
napi_value make_gss_error(napi_env env, const char *operation, const GssStatus *status, const gss_buffer_desc *token);
void throw_gss_error(napi_env env, const char *operation, OM_uint32 major, OM_uint32 minor);

/* Wrapping and unwrapping of the three handle kinds (handles.c). The getters throw a TypeError and return
 * NULL when `value` is not a handle of that kind. */
napi_value wrap_name(napi_env env, gss_name_t name);
napi_value wrap_cred(napi_env env, gss_cred_id_t cred);
napi_value wrap_context(napi_env env);
NameBox *get_name(napi_env env, napi_value value);
CredBox *get_cred(napi_env env, napi_value value);
ContextBox *get_context(napi_env env, napi_value value);
/* A Buffer's bytes, or a TypeError when it is not one. */
int get_bytes(napi_env env, napi_value value, void **data, size_t *length);
napi_value copy_to_buffer(napi_env env, const gss_buffer_desc *buffer);

napi_value js_release_name(napi_env env, napi_callback_info info);
napi_value js_release_credential(napi_env env, napi_callback_info info);
napi_value js_delete_context(napi_env env, napi_callback_info info);
napi_value js_create_context(napi_env env, napi_callback_info info);

/* Thread-pool calls (context_work.c). */
napi_value js_init_sec_context(napi_env env, napi_callback_info info);
napi_value js_accept_sec_context(napi_env env, napi_callback_info info);

/* krb5 local-account mapping (krb5_local.c). */
napi_value js_kuserok(napi_env env, napi_callback_info info);
napi_value js_local_name(napi_env env, napi_callback_info info);

#endif
