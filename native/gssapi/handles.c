/*
 * GSS-API handles as JavaScript objects, and the addon's error objects.
 *
 * Each handle is a plain object wrapping a C box (napi_wrap) and tagged with its kind (napi_type_tag_object),
 * so a name can never be taken for a credential. The finalizer releases whatever the box still holds; the
 * explicit release functions empty the box first, so nothing is released twice.
 */
#include "gssapi_addon.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const napi_type_tag NAME_TAG = { 0x7465746865726e61ULL, 0x6d65000000000001ULL };
static const napi_type_tag CRED_TAG = { 0x7465746865726372ULL, 0x6564000000000002ULL };
static const napi_type_tag CONTEXT_TAG = { 0x746574686572637cULL, 0x7478000000000003ULL };

void throw_napi_failure(napi_env env, const char *call) {
  char text[200];
  snprintf(text, sizeof text, "gssapi: Node-API call failed: %s", call);
  napi_throw_error(env, NULL, text);
}

void throw_type_error(napi_env env, const char *message) {
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", message);
}

int get_string(napi_env env, napi_value value, char *out, size_t size) {
  size_t length;
  if (napi_get_value_string_utf8(env, value, out, size, &length) != napi_ok) {
    throw_type_error(env, "gssapi: expected a string");
    return 0;
  }
  if (length + 1 >= size || strlen(out) != length) {
    throw_type_error(env, "gssapi: string too long or contains NUL");
    return 0;
  }
  return 1;
}

/* One kind of status (GSS_C_GSS_CODE or GSS_C_MECH_CODE) as text; gss_display_status may return several
 * messages for one code, fetched one by one through message_context (RFC 2743 §2.4.1). */
static void render_one(char *out, OM_uint32 code, int type) {
  OM_uint32 message_context = 0, minor;
  size_t used = 0;
  out[0] = '\0';
  /* A bounded loop: MIT returns at most a handful of messages per code. */
  for (int i = 0; i < 8; i++) {
    gss_buffer_desc text = GSS_C_EMPTY_BUFFER;
    OM_uint32 major = gss_display_status(&minor, code, type, GSS_C_NO_OID, &message_context, &text);
    if (GSS_ERROR(major)) break;
    if (text.length > 0 && used + text.length + 3 < STATUS_TEXT_MAX) {
      if (used > 0) {
        memcpy(out + used, "; ", 2);
        used += 2;
      }
      memcpy(out + used, text.value, text.length);
      used += text.length;
      out[used] = '\0';
    }
    gss_release_buffer(&minor, &text);
    if (message_context == 0) break;
  }
}

void render_status(GssStatus *status, OM_uint32 major, OM_uint32 minor) {
  status->major = major;
  status->minor = minor;
  render_one(status->major_text, major, GSS_C_GSS_CODE);
  if (minor != 0) render_one(status->minor_text, minor, GSS_C_MECH_CODE);
  else status->minor_text[0] = '\0';
  /* The mechanism glue maps minor codes; one that maps back to krb5's 0 says only "Success". */
  if (strcmp(status->minor_text, "Success") == 0) status->minor_text[0] = '\0';
}

static void set_string(napi_env env, napi_value object, const char *key, const char *text) {
  napi_value value;
  if (napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &value) == napi_ok) napi_set_named_property(env, object, key, value);
}

static void set_uint(napi_env env, napi_value object, const char *key, uint32_t number) {
  napi_value value;
  if (napi_create_uint32(env, number, &value) == napi_ok) napi_set_named_property(env, object, key, value);
}

napi_value make_gss_error(napi_env env, const char *operation, const GssStatus *status, const gss_buffer_desc *token) {
  char text[STATUS_TEXT_MAX * 2 + 80];
  napi_value message, code, error;
  if (status->minor_text[0] != '\0') snprintf(text, sizeof text, "%s: %s: %s", operation, status->major_text, status->minor_text);
  else snprintf(text, sizeof text, "%s: %s", operation, status->major_text);
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &message);
  napi_create_string_utf8(env, "ERR_GSSAPI", NAPI_AUTO_LENGTH, &code);
  napi_create_error(env, code, message, &error);
  set_string(env, error, "code", "ERR_GSSAPI");
  set_string(env, error, "operation", operation);
  set_uint(env, error, "major", status->major);
  set_uint(env, error, "minor", status->minor);
  set_string(env, error, "majorText", status->major_text);
  set_string(env, error, "minorText", status->minor_text);
  if (token != NULL && token->length > 0) {
    napi_value bytes = copy_to_buffer(env, token);
    if (bytes != NULL) napi_set_named_property(env, error, "token", bytes);
  }
  return error;
}

void throw_gss_error(napi_env env, const char *operation, OM_uint32 major, OM_uint32 minor) {
  GssStatus status;
  render_status(&status, major, minor);
  napi_throw(env, make_gss_error(env, operation, &status, NULL));
}

static void finalize_name(napi_env env, void *data, void *hint) {
  NameBox *box = data;
  OM_uint32 minor;
  if (box->name != GSS_C_NO_NAME) gss_release_name(&minor, &box->name);
  free(box);
}

static void finalize_cred(napi_env env, void *data, void *hint) {
  CredBox *box = data;
  OM_uint32 minor;
  if (box->cred != GSS_C_NO_CREDENTIAL) gss_release_cred(&minor, &box->cred);
  free(box);
}

static void finalize_context(napi_env env, void *data, void *hint) {
  ContextBox *box = data;
  OM_uint32 minor;
  if (box->ctx != GSS_C_NO_CONTEXT) gss_delete_sec_context(&minor, &box->ctx, GSS_C_NO_BUFFER);
  free(box);
}

static napi_value wrap_box(napi_env env, void *box, const napi_type_tag *tag, napi_finalize finalize) {
  napi_value object;
  if (napi_create_object(env, &object) != napi_ok || napi_type_tag_object(env, object, tag) != napi_ok ||
      napi_wrap(env, object, box, finalize, NULL, NULL) != napi_ok) {
    finalize(env, box, NULL);
    throw_napi_failure(env, "wrap handle");
    return NULL;
  }
  return object;
}

napi_value wrap_name(napi_env env, gss_name_t name) {
  NameBox *box = calloc(1, sizeof *box);
  if (box == NULL) {
    OM_uint32 minor;
    gss_release_name(&minor, &name);
    napi_throw_error(env, NULL, "gssapi: out of memory");
    return NULL;
  }
  box->name = name;
  return wrap_box(env, box, &NAME_TAG, finalize_name);
}

napi_value wrap_cred(napi_env env, gss_cred_id_t cred) {
  CredBox *box = calloc(1, sizeof *box);
  if (box == NULL) {
    OM_uint32 minor;
    gss_release_cred(&minor, &cred);
    napi_throw_error(env, NULL, "gssapi: out of memory");
    return NULL;
  }
  box->cred = cred;
  return wrap_box(env, box, &CRED_TAG, finalize_cred);
}

napi_value wrap_context(napi_env env) {
  ContextBox *box = calloc(1, sizeof *box);
  if (box == NULL) {
    napi_throw_error(env, NULL, "gssapi: out of memory");
    return NULL;
  }
  box->ctx = GSS_C_NO_CONTEXT;
  return wrap_box(env, box, &CONTEXT_TAG, finalize_context);
}

static void *get_box(napi_env env, napi_value value, const napi_type_tag *tag, const char *what) {
  bool matches = false;
  void *box = NULL;
  napi_valuetype type;
  if (napi_typeof(env, value, &type) != napi_ok || type != napi_object ||
      napi_check_object_type_tag(env, value, tag, &matches) != napi_ok || !matches ||
      napi_unwrap(env, value, &box) != napi_ok) {
    throw_type_error(env, what);
    return NULL;
  }
  return box;
}

NameBox *get_name(napi_env env, napi_value value) {
  return get_box(env, value, &NAME_TAG, "gssapi: expected a name handle");
}

CredBox *get_cred(napi_env env, napi_value value) {
  return get_box(env, value, &CRED_TAG, "gssapi: expected a credential handle");
}

ContextBox *get_context(napi_env env, napi_value value) {
  return get_box(env, value, &CONTEXT_TAG, "gssapi: expected a security context handle");
}

int get_bytes(napi_env env, napi_value value, void **data, size_t *length) {
  bool is_buffer = false;
  if (napi_is_buffer(env, value, &is_buffer) != napi_ok || !is_buffer ||
      napi_get_buffer_info(env, value, data, length) != napi_ok) {
    throw_type_error(env, "gssapi: expected a Buffer");
    return 0;
  }
  return 1;
}

napi_value copy_to_buffer(napi_env env, const gss_buffer_desc *buffer) {
  napi_value result;
  void *copy;
  if (napi_create_buffer_copy(env, buffer->length, buffer->length > 0 ? buffer->value : "", &copy, &result) != napi_ok) {
    throw_napi_failure(env, "napi_create_buffer_copy");
    return NULL;
  }
  return result;
}

static napi_value one_argument(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1) {
    throw_type_error(env, "gssapi: missing argument");
    return NULL;
  }
  return argv[0];
}

napi_value js_release_name(napi_env env, napi_callback_info info) {
  napi_value value = one_argument(env, info);
  NameBox *box = value ? get_name(env, value) : NULL;
  OM_uint32 minor;
  if (box != NULL && box->name != GSS_C_NO_NAME) gss_release_name(&minor, &box->name);
  return NULL;
}

napi_value js_release_credential(napi_env env, napi_callback_info info) {
  napi_value value = one_argument(env, info);
  CredBox *box = value ? get_cred(env, value) : NULL;
  OM_uint32 minor;
  if (box != NULL && box->users > 0) {
    napi_throw_error(env, "ERR_GSSAPI_BUSY", "gssapi: the credential is in use by a pending call");
    return NULL;
  }
  if (box != NULL && box->cred != GSS_C_NO_CREDENTIAL) gss_release_cred(&minor, &box->cred);
  return NULL;
}

napi_value js_delete_context(napi_env env, napi_callback_info info) {
  napi_value value = one_argument(env, info);
  ContextBox *box = value ? get_context(env, value) : NULL;
  OM_uint32 minor;
  if (box == NULL) return NULL;
  if (box->busy) {
    napi_throw_error(env, "ERR_GSSAPI_BUSY", "gssapi: the security context is in use by a pending call");
    return NULL;
  }
  if (box->ctx != GSS_C_NO_CONTEXT) gss_delete_sec_context(&minor, &box->ctx, GSS_C_NO_BUFFER);
  return NULL;
}

napi_value js_create_context(napi_env env, napi_callback_info info) {
  return wrap_context(env);
}
