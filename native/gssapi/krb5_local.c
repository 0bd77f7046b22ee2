/*
 * Which local account a Kerberos principal may log in as: krb5_kuserok and krb5_aname_to_localname, as
 * OpenSSH's ssh_gssapi_krb5_userok (gss-serv-krb5.c) uses them. MIT's krb5_kuserok reads ~user/.k5login when
 * it exists (the principal must be listed there, and the file owned by the user or root); otherwise the
 * principal must map to the user by the realm's aname-to-lname rules (user@DEFAULT_REALM is user).
 *
 * Local file reads only, no KDC: these run on the calling thread. A fresh krb5 context per call picks up
 * KRB5_CONFIG as the process has it.
 */
#include "gssapi_addon.h"
#include <krb5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Longest principal or user name accepted from JavaScript; RFC 4120 sets no limit, sshd's is the packet's. */
#define NAME_MAX_BYTES 1024
#define LOCAL_NAME_MAX 256


static napi_value throw_krb5(napi_env env, krb5_context context, krb5_error_code code, const char *operation) {
  char text[STATUS_TEXT_MAX + 64];
  const char *message = context != NULL ? krb5_get_error_message(context, code) : "cannot initialise krb5";
  napi_value error, code_value, message_value;
  snprintf(text, sizeof text, "%s: %s", operation, message);
  if (context != NULL) krb5_free_error_message(context, message);
  napi_create_string_utf8(env, "ERR_KRB5", NAPI_AUTO_LENGTH, &code_value);
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &message_value);
  napi_create_error(env, code_value, message_value, &error);
  napi_set_named_property(env, error, "code", code_value);
  napi_throw(env, error);
  return NULL;
}

/* Parses argv[0] as a principal in a fresh context; the caller frees both. */
static int parse_principal(napi_env env, napi_value value, krb5_context *context, krb5_principal *principal) {
  char name[NAME_MAX_BYTES];
  krb5_error_code code;
  *context = NULL;
  *principal = NULL;
  if (!get_string(env, value, name, sizeof name)) return 0;
  code = krb5_init_context(context);
  if (code != 0) {
    *context = NULL;
    throw_krb5(env, NULL, code, "krb5_init_context");
    return 0;
  }
  code = krb5_parse_name(*context, name, principal);
  if (code != 0) {
    throw_krb5(env, *context, code, "krb5_parse_name");
    krb5_free_context(*context);
    *context = NULL;
    return 0;
  }
  return 1;
}

/* kuserok(principal: string, localUser: string): boolean */
napi_value js_kuserok(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], result;
  char user[LOCAL_NAME_MAX];
  krb5_context context;
  krb5_principal principal;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2) {
    throw_type_error(env, "gssapi: kuserok(principal, localUser)");
    return NULL;
  }
  if (!get_string(env, argv[1], user, sizeof user)) return NULL;
  if (!parse_principal(env, argv[0], &context, &principal)) return NULL;
  krb5_boolean allowed = krb5_kuserok(context, principal, user);
  krb5_free_principal(context, principal);
  krb5_free_context(context);
  CHECK(napi_get_boolean(env, allowed ? true : false, &result));
  return result;
}

/* localName(principal: string): string | null — the account aname-to-lname maps it to, if any. */
napi_value js_local_name(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], result;
  char local[LOCAL_NAME_MAX];
  krb5_context context;
  krb5_principal principal;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1) {
    throw_type_error(env, "gssapi: localName(principal)");
    return NULL;
  }
  if (!parse_principal(env, argv[0], &context, &principal)) return NULL;
  krb5_error_code code = krb5_aname_to_localname(context, principal, sizeof local, local);
  krb5_free_principal(context, principal);
  krb5_free_context(context);
  if (code != 0) {
    CHECK(napi_get_null(env, &result));
    return result;
  }
  CHECK(napi_create_string_utf8(env, local, NAPI_AUTO_LENGTH, &result));
  return result;
}
